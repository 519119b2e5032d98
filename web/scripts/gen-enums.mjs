// Writes src/api/enums.gen.ts: the string enums of api/openapi.yaml that the
// console lists at run time (filters, overview order), in the contract's
// order, so no screen keeps its own copy. `--check` fails when the file is
// stale instead of writing it. Run by `npm run gen:api` and `check:api`.
import { readFileSync, writeFileSync } from 'node:fs';

const ENUMS = { AllocationStatus: 'ALLOCATION_STATUSES', PaymentStatus: 'PAYMENT_STATUSES' };

export function render(spec) {
  let out =
    '// Generated from api/openapi.yaml by scripts/gen-enums.mjs; do not edit.\n' +
    "import type { components } from './schema';\n\n";
  for (const [schema, name] of Object.entries(ENUMS)) {
    const m = spec.match(new RegExp(`\\n    ${schema}:\\n      type: string\\n      enum: \\[([^\\]]*)\\]`));
    if (!m) throw new Error(`api/openapi.yaml: no inline string enum for ${schema}`);
    const values = m[1].split(',').map((v) => `'${v.trim()}'`);
    out += `export const ${name} = [${values.join(', ')}] as const satisfies readonly components['schemas']['${schema}'][];\n`;
  }
  return out;
}

const want = render(readFileSync('../api/openapi.yaml', 'utf8'));
const path = 'src/api/enums.gen.ts';
if (process.argv.includes('--check')) {
  let have = '';
  try {
    have = readFileSync(path, 'utf8');
  } catch {}
  if (have !== want) {
    console.error(`${path} is stale: api/openapi.yaml changed. Run \`npm run gen:api\` in web/ and commit it.`);
    process.exit(1);
  }
  console.log(`${path} matches api/openapi.yaml`);
} else {
  writeFileSync(path, want);
}
