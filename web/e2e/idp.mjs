// A real OIDC provider for the browser journeys: Ory Hydra (the binary that
// scripts/ensure-services.sh hydra builds) on loopback with an in-memory
// store, plus the login, consent and logout pages Hydra asks its operator
// to provide. The login page is a plain form (a username, no password:
// whoever types a name is that person at this provider); consent grants what
// was asked, with email, email_verified and preferred_username claims.
//
//   node web/e2e/idp.mjs HYDRA_BIN WORK_DIR REDIRECT_URI
//
// When ready it writes WORK_DIR/idp.env (ISSUER, CLIENT_ID,
// CLIENT_SECRET_FILE) for scripts/web-e2e.sh, then serves until killed; it
// stops Hydra on the way out.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const [bin, dir, redirectURI] = process.argv.slice(2);
if (!bin || !dir || !redirectURI) {
  console.error('usage: idp.mjs HYDRA_BIN WORK_DIR REDIRECT_URI');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const [pub, adm, ui] = [await freePort(), await freePort(), await freePort()];
const issuer = `http://127.0.0.1:${pub}`;
const admin = `http://127.0.0.1:${adm}`;
const self = `http://127.0.0.1:${ui}`;
writeFileSync(
  path.join(dir, 'hydra.yml'),
  `dsn: memory
serve:
  public: {host: 127.0.0.1, port: ${pub}}
  admin: {host: 127.0.0.1, port: ${adm}}
urls:
  self: {issuer: ${issuer}}
  login: ${self}/login
  consent: ${self}/consent
  logout: ${self}/logout
secrets:
  system: [this-is-an-e2e-only-secret-32-bytes-long]
strategies:
  access_token: opaque
log: {level: warn, format: text}
sqa: {opt_out: true}
`,
);
const logFd = openSync(path.join(dir, 'hydra.log'), 'a');
const hydra = spawn(bin, ['serve', 'all', '--dev', '--sqa-opt-out', '-c', path.join(dir, 'hydra.yml')], {
  stdio: ['ignore', logFd, logFd],
});
const stop = () => {
  hydra.kill('SIGKILL');
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
hydra.on('exit', (code) => {
  console.error(`idp: hydra exited (${code}); see ${dir}/hydra.log`);
  process.exit(1);
});

async function adminCall(method, p, body) {
  const res = await fetch(admin + p, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`hydra ${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

for (let i = 0; ; i++) {
  try {
    const r = await fetch(`${admin}/health/ready`);
    if (r.ok) break;
  } catch {
    // not up yet
  }
  if (i > 300) throw new Error('hydra was not ready in 30 s');
  await new Promise((r) => setTimeout(r, 100));
}

const secret = `e2e-${Math.random().toString(36).slice(2)}${Date.now()}`;
const postLogout = new URL('/login', redirectURI).toString();
const client = await adminCall('POST', '/admin/clients', {
  client_secret: secret,
  redirect_uris: [redirectURI],
  post_logout_redirect_uris: [postLogout],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  scope: 'openid email profile offline',
  token_endpoint_auth_method: 'client_secret_basic',
});
const secretFile = path.join(dir, 'client-secret');
writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
  `<title>${esc(title)}</title></head><body style="font-family:sans-serif;max-width:320px;margin:40px auto">` +
  `${body}</body></html>`;

function redirect(res, to) {
  res.writeHead(302, { Location: to });
  res.end();
}

async function readForm(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return new URLSearchParams(raw);
}

const server = http.createServer(async (req, res) => {
  try {
    const u = new URL(req.url, self);
    if (u.pathname === '/login' && req.method === 'GET') {
      const challenge = u.searchParams.get('login_challenge') ?? '';
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(
        page(
          'Sign in at the test provider',
          `<h1>Test identity provider</h1><form method="post" action="/login">` +
            `<input type="hidden" name="challenge" value="${esc(challenge)}">` +
            `<label>Username <input name="username" data-testid="idp-username" autocomplete="off"></label> ` +
            `<button type="submit" data-testid="idp-submit">Sign in</button></form>`,
        ),
      );
      return;
    }
    if (u.pathname === '/login' && req.method === 'POST') {
      const form = await readForm(req);
      const username = (form.get('username') ?? '').trim().toLowerCase();
      const out = await adminCall(
        'PUT',
        `/admin/oauth2/auth/requests/login/accept?login_challenge=${encodeURIComponent(form.get('challenge') ?? '')}`,
        { subject: `idp|${username}` },
      );
      redirect(res, out.redirect_to);
      return;
    }
    if (u.pathname === '/consent') {
      const challenge = u.searchParams.get('consent_challenge') ?? '';
      const q = `consent_challenge=${encodeURIComponent(challenge)}`;
      const ask = await adminCall('GET', `/admin/oauth2/auth/requests/consent?${q}`);
      const username = String(ask.subject).replace(/^idp\|/, '');
      const out = await adminCall('PUT', `/admin/oauth2/auth/requests/consent/accept?${q}`, {
        grant_scope: ask.requested_scope,
        grant_access_token_audience: ask.requested_access_token_audience,
        session: {
          id_token: {
            preferred_username: username,
            name: username,
            email: `${username}@idp.example`,
            email_verified: true,
          },
        },
      });
      redirect(res, out.redirect_to);
      return;
    }
    if (u.pathname === '/logout') {
      const q = `logout_challenge=${encodeURIComponent(u.searchParams.get('logout_challenge') ?? '')}`;
      const out = await adminCall('PUT', `/admin/oauth2/auth/requests/logout/accept?${q}`);
      redirect(res, out.redirect_to);
      return;
    }
    res.writeHead(404);
    res.end('not found');
  } catch (err) {
    console.error('idp:', err);
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(String(err));
  }
});
server.listen(ui, '127.0.0.1', () => {
  // Written aside and renamed, so scripts/web-e2e.sh, which polls for
  // the file, never reads it half written.
  const envFile = path.join(dir, 'idp.env');
  writeFileSync(
    `${envFile}.tmp`,
    `ISSUER=${issuer}\nCLIENT_ID=${client.client_id}\nCLIENT_SECRET_FILE=${secretFile}\n`,
  );
  renameSync(`${envFile}.tmp`, envFile);
  console.error(`idp: hydra at ${issuer}, login pages at ${self}`);
});
