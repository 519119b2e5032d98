import { useState } from 'react';
import { useAnnounce } from './Announcer';

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Insecure origins (plain http on a LAN address) have no Clipboard API.
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.append(ta);
  ta.select();
  document.execCommand('copy');
  ta.remove();
}

/** Copies `text`; says "Copied" for a moment and announces it. */
export function CopyButton({ text, label = 'Copy', small = false }: { text: string; label?: string; small?: boolean }) {
  const [copied, setCopied] = useState(false);
  const announce = useAnnounce();
  return (
    <button
      type="button"
      className={`button ghost${small ? ' small' : ''}`}
      aria-label={label}
      title={label}
      onClick={async () => {
        try {
          await copyText(text);
          setCopied(true);
          announce('Copied to the clipboard');
          setTimeout(() => setCopied(false), 1500);
        } catch {
          announce('Could not copy; select the text and copy it by hand', 'assertive');
        }
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}
