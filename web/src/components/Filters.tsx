// The filter bar above a list: a search landmark holding labelled search
// boxes and selects, laid out by the .filters / .filter styles. Values live
// wherever the screen keeps them (usually the URL query).
import type { ReactNode } from 'react';

export function FilterBar({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="filters" role="search" aria-label={label}>
      {children}
    </div>
  );
}

interface SearchFilterProps {
  id: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  maxLength?: number;
  label?: string;
}

/** A search box that takes the bar's free width. */
export function SearchFilter({ id, value, onChange, placeholder, maxLength, label = 'Search' }: SearchFilterProps) {
  return (
    <div className="filter filter-grow">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        className="input"
        type="search"
        placeholder={placeholder}
        maxLength={maxLength}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    </div>
  );
}

interface SelectFilterProps {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  /** The <option>s, the "any" one first. */
  children: ReactNode;
}

export function SelectFilter({ id, label, value, onChange, children }: SelectFilterProps) {
  return (
    <div className="filter">
      <label htmlFor={id}>{label}</label>
      <select id={id} className="input" value={value} onChange={(e) => onChange(e.target.value)}>
        {children}
      </select>
    </div>
  );
}
