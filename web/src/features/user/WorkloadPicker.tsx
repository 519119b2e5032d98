// The create dialog's app picker: Shell (the default), the catalogue's
// ready-made apps (Jupyter: its params, secret ones as password inputs) and
// Custom container (image, command, ports, env). Controlled: the dialog
// holds the WorkloadForm and builds the request with buildWorkload.
import { useId, useRef } from 'react';
import type { Launchable } from '../../api/types';
import { Field } from '../../components/Field';
import { CONTAINER, SHELL, splitCommand, type FieldErrors, type WorkloadForm } from './workload';

const SHELL_FALLBACK: Launchable = {
  id: SHELL,
  name: 'Shell',
  description: 'A Linux account on the node with the allocation’s GPUs; reach it over SSH or the browser terminal.',
  runtime: 'process',
  image: '',
  ports: [],
  params: [],
};

/** The catalogue to offer: the server's, with the shell always there (first when it was missing). */
export function pickerChoices(items: readonly Launchable[] | undefined): Launchable[] {
  const list = [...(items ?? [])];
  if (!list.some((l) => l.id === SHELL)) list.unshift(SHELL_FALLBACK);
  return list;
}

/** A param's name as a label: "image" → "Image", "hf_token" → "Hf token". */
function paramLabel(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : name;
}

export function WorkloadPicker({
  choices,
  form,
  onChange,
  errors,
  catalogueNote,
  disabled,
}: {
  choices: Launchable[];
  form: WorkloadForm;
  onChange: (next: WorkloadForm) => void;
  /** Field key → message (client checks after a submit, or the server's 400). */
  errors: FieldErrors;
  /** Why only the shell is offered (the catalogue failed to load), if so. */
  catalogueNote?: string;
  disabled?: boolean;
}) {
  const name = useId();
  const chosen = choices.find((c) => c.id === form.launchable);
  const set = (patch: Partial<WorkloadForm>) => onChange({ ...form, ...patch });
  return (
    <div className="workload-picker" data-testid="workload-picker">
      <fieldset className="app-choice" disabled={disabled}>
        <legend>What it runs</legend>
        <div className="app-choice-list">
          {choices.map((c) => (
            <label key={c.id} className={`app-choice-item${form.launchable === c.id ? ' selected' : ''}`}>
              <input
                type="radio"
                name={name}
                value={c.id}
                checked={form.launchable === c.id}
                onChange={() => set({ launchable: c.id })}
              />
              <span>
                <strong>{c.name}</strong>
                <span className="app-choice-desc">{c.description}</span>
              </span>
            </label>
          ))}
        </div>
        {errors.launchable && <p className="field-error">{errors.launchable}</p>}
        {catalogueNote && <p className="muted fine-print">{catalogueNote}</p>}
      </fieldset>

      {chosen && chosen.id !== SHELL && chosen.id !== CONTAINER && chosen.image && (
        <p className="muted fine-print app-image">
          Image <code>{chosen.image}</code>
          {chosen.ports.length > 0 && <> · opens from the allocation page once it is ready</>}
        </p>
      )}

      {chosen &&
        chosen.params.map((p) => (
          <Field
            key={p.name}
            label={`${paramLabel(p.name)}${p.required ? '' : ' (optional)'}`}
            hint={p.description + (p.secret ? ' Kept secret: never shown again.' : '')}
            error={errors[`params.${p.name}`]}
          >
            {(fp) => (
              <input
                {...fp}
                type={p.secret ? 'password' : 'text'}
                value={form.params[p.name] ?? ''}
                onChange={(e) => set({ params: { ...form.params, [p.name]: e.target.value } })}
                autoComplete={p.secret ? 'new-password' : 'off'}
                spellCheck={false}
                required={p.required}
              />
            )}
          </Field>
        ))}

      {form.launchable === CONTAINER && <ContainerFields form={form} set={set} errors={errors} />}
    </div>
  );
}

function ContainerFields({
  form,
  set,
  errors,
}: {
  form: WorkloadForm;
  set: (patch: Partial<WorkloadForm>) => void;
  errors: FieldErrors;
}) {
  const nextKey = useRef(1000);
  const key = () => nextKey.current++;
  let preview: string[] | null = null;
  try {
    preview = form.command.trim() ? splitCommand(form.command) : null;
  } catch {
    preview = null;
  }
  return (
    <>
      <Field label="Image" hint="An image the operator allows, e.g. nvcr.io/nvidia/pytorch:24.05-py3." error={errors.image}>
        {(p) => (
          <input
            {...p}
            value={form.image}
            onChange={(e) => set({ image: e.target.value })}
            autoComplete="off"
            spellCheck={false}
            autoCapitalize="off"
            required
            placeholder="registry/name:tag"
          />
        )}
      </Field>
      <Field
        label="Command (optional)"
        hint={
          <>
            Replaces the image’s command. Arguments are separated by spaces; put one with spaces in quotes, e.g.{' '}
            <code>sh -c "python train.py --epochs 3"</code>.
            {preview && (
              <span className="command-preview" data-testid="command-preview">
                {' '}
                {preview.length} argument{preview.length === 1 ? '' : 's'}:{' '}
                {preview.map((a, i) => (
                  <code key={i}>{a}</code>
                ))}
              </span>
            )}
          </>
        }
        error={errors.command}
      >
        {(p) => (
          <input
            {...p}
            value={form.command}
            onChange={(e) => set({ command: e.target.value })}
            autoComplete="off"
            spellCheck={false}
            autoCapitalize="off"
          />
        )}
      </Field>

      <fieldset className="rows-editor" data-testid="ports-editor">
        <legend>Ports</legend>
        <p className="muted fine-print rows-hint">
          Ports your app serves over HTTP; each gets an Open button on the allocation page. Names: lowercase letters,
          digits and -.
        </p>
        {form.ports.map((r, i) => (
          <div key={r.key} className="row-editor">
            <Field label={`Port ${i + 1} name`} error={errors[`ports.${r.key}.name`]}>
              {(p) => (
                <input
                  {...p}
                  value={r.name}
                  placeholder="web"
                  autoComplete="off"
                  spellCheck={false}
                  autoCapitalize="off"
                  onChange={(e) => set({ ports: form.ports.map((x) => (x.key === r.key ? { ...x, name: e.target.value } : x)) })}
                />
              )}
            </Field>
            <Field label={`Port ${i + 1} number`} error={errors[`ports.${r.key}.port`]}>
              {(p) => (
                <input
                  {...p}
                  value={r.port}
                  inputMode="numeric"
                  placeholder="8080"
                  autoComplete="off"
                  onChange={(e) => set({ ports: form.ports.map((x) => (x.key === r.key ? { ...x, port: e.target.value } : x)) })}
                />
              )}
            </Field>
            <button
              type="button"
              className="button small danger-ghost row-remove"
              aria-label={`Remove port ${i + 1}`}
              onClick={() => set({ ports: form.ports.filter((x) => x.key !== r.key) })}
            >
              Remove
            </button>
          </div>
        ))}
        {errors.ports && <p className="field-error">{errors.ports}</p>}
        <button
          type="button"
          className="button small"
          disabled={form.ports.length >= 16}
          onClick={() => set({ ports: [...form.ports, { key: key(), name: form.ports.length ? '' : 'web', port: '' }] })}
        >
          Add port
        </button>
      </fieldset>

      <fieldset className="rows-editor" data-testid="env-editor">
        <legend>Environment variables</legend>
        {form.env.map((r, i) => (
          <div key={r.key} className="row-editor">
            <Field label={`Variable ${i + 1} name`} error={errors[`env.${r.key}`]}>
              {(p) => (
                <input
                  {...p}
                  value={r.name}
                  placeholder="NAME"
                  autoComplete="off"
                  spellCheck={false}
                  autoCapitalize="off"
                  onChange={(e) => set({ env: form.env.map((x) => (x.key === r.key ? { ...x, name: e.target.value } : x)) })}
                />
              )}
            </Field>
            <Field label={`Variable ${i + 1} value`}>
              {(p) => (
                <input
                  {...p}
                  value={r.value}
                  autoComplete="off"
                  spellCheck={false}
                  autoCapitalize="off"
                  onChange={(e) => set({ env: form.env.map((x) => (x.key === r.key ? { ...x, value: e.target.value } : x)) })}
                />
              )}
            </Field>
            <button
              type="button"
              className="button small danger-ghost row-remove"
              aria-label={`Remove variable ${i + 1}`}
              onClick={() => set({ env: form.env.filter((x) => x.key !== r.key) })}
            >
              Remove
            </button>
          </div>
        ))}
        {errors.env && <p className="field-error">{errors.env}</p>}
        <button
          type="button"
          className="button small"
          disabled={form.env.length >= 64}
          onClick={() => set({ env: [...form.env, { key: key(), name: '', value: '' }] })}
        >
          Add variable
        </button>
        <p className="muted fine-print rows-hint">Values are shown on the allocation page: do not put secrets here.</p>
      </fieldset>
    </>
  );
}
