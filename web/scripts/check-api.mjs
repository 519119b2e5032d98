// Fails when src/api/schema.d.ts differs from what api/openapi.yaml generates
// now: run `npm run gen:api` and commit the result.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'gpuaas-api-'));
const fresh = join(dir, 'schema.d.ts');
try {
  execFileSync('npx', ['--no-install', 'openapi-typescript', '../api/openapi.yaml', '-o', fresh], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const want = readFileSync(fresh, 'utf8');
  const have = readFileSync('src/api/schema.d.ts', 'utf8');
  if (want !== have) {
    console.error('src/api/schema.d.ts is stale: api/openapi.yaml changed. Run `npm run gen:api` in web/ and commit it.');
    process.exit(1);
  }
  console.log('src/api/schema.d.ts matches api/openapi.yaml');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
