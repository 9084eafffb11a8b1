// A real OpenID provider (node's oidc-provider) for Gatehouse's integration
// tests. It is set up like the providers the edge must cope with: ID tokens
// carry only `sub` (Okta's default: email and groups come from userinfo),
// the login is a plain HTML form a scripted browser can fill, and
// client_credentials yields JWT access tokens for bearer tests.
//
// Environment:
//   OP_PORT                port on 127.0.0.1 (the issuer is http://127.0.0.1:PORT)
//   OP_CLIENT_ID           the edge's client id (default "edge")
//   OP_CLIENT_SECRET       its secret (default "edge-secret")
//   OP_REDIRECT_URIS       comma-separated redirect URIs of the edge
//   OP_POST_LOGOUT_URIS    comma-separated post_logout_redirect_uris
//   OP_SIGNING_KEY         PEM file of the RSA signing key (default: a new one)
//   OP_ACCESS_TTL          lifetime in seconds of the access tokens a login or a
//                          refresh yields (default 3600)
//   OP_BACKCHANNEL_LOGOUT_URI  the edge's back-channel logout endpoint: when
//                          set, ID tokens carry a sid and every logout at the
//                          provider POSTs a logout token (with sub and sid)
//                          there. GET /test/backchannel counts the answers:
//                          {"ok": N, "failed": M, "errors": [...]}.
//
// Refresh tokens are issued at every login (no offline_access needed) and
// rotate as Ory Hydra's, Okta's and Auth0's do: each is good once, and
// redeeming a spent one revokes the whole grant (oidc-provider takes it for
// theft). GET /test/grants counts the refresh_token grants asked for:
// {"refresh_token": {"ok": N, "refused": M}}.
//
// Users (username / password): alice / wonderland (groups staff, dev),
// bob / builder (groups contractors).
// Clients for client_credentials: "robot-staff" / "robot-secret" (its tokens
// carry groups [staff]) and "robot" / "robot-secret" (groups [robots]).
// Resource indicators: any https resource becomes the JWT's audience;
// "https://short.test" tokens live one second.
import { createServer } from 'node:http';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.OP_PORT);
if (!port) {
  console.error('OP_PORT is required');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const list = (v) => (v ? v.split(',').filter(Boolean) : []);
const accessTTL = Number(process.env.OP_ACCESS_TTL) || 3600;
const grants = { refresh_token: { ok: 0, refused: 0 } };
const backchannel = { ok: 0, failed: 0, errors: [] };
const backchannelURI = process.env.OP_BACKCHANNEL_LOGOUT_URI;

const users = {
  alice: { password: 'wonderland', claims: { email: 'alice@example.com', email_verified: true, name: 'Alice', groups: ['staff', 'dev'] } },
  bob: { password: 'builder', claims: { email: 'bob@example.com', email_verified: true, name: 'Bob', groups: ['contractors'] } },
};

// A fresh signing key per run: tests fetch the JWKS, never embed it. The
// test may hand one over (OP_SIGNING_KEY, a PEM file): RSA key generation
// can take many seconds on a loaded CI machine.
const privateKey = process.env.OP_SIGNING_KEY
  ? createPrivateKey(readFileSync(process.env.OP_SIGNING_KEY))
  : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'op-1', use: 'sig', alg: 'RS256' };

const robot = (id) => ({
  client_id: id,
  client_secret: 'robot-secret',
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
});

const configuration = {
  clients: [
    {
      client_id: process.env.OP_CLIENT_ID || 'edge',
      client_secret: process.env.OP_CLIENT_SECRET || 'edge-secret',
      redirect_uris: list(process.env.OP_REDIRECT_URIS),
      post_logout_redirect_uris: list(process.env.OP_POST_LOGOUT_URIS),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...(backchannelURI ? { backchannel_logout_uri: backchannelURI, backchannel_logout_session_required: true } : {}),
    },
    robot('robot'),
    robot('robot-staff'),
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'email', 'groups', 'profile', 'api'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  // Claims asked for by scope go to userinfo only, never into the ID token.
  conformIdTokenClaims: true,
  async findAccount(ctx, id) {
    const u = users[id];
    if (!u) return undefined;
    return {
      accountId: id,
      // Belt and braces on top of conformIdTokenClaims: the ID token gets
      // `sub` alone, so the edge must merge userinfo to see email/groups.
      async claims(use) {
        return use === 'id_token' ? { sub: id } : { sub: id, ...u.claims };
      },
    };
  },
  async extraTokenClaims(ctx, token) {
    if (token.clientId === 'robot-staff') return { groups: ['staff'], email: 'robot@example.com' };
    if (token.clientId === 'robot') return { groups: ['robots'] };
    return undefined;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // The provider's outgoing calls (back-channel logouts) go to the edge on
  // loopback, which oidc-provider's SSRF guard (its dispatcher) refuses;
  // a busy test machine also needs more than its 2.5 s timeout.
  fetch: (url, options) => {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, { ...rest, signal: AbortSignal.timeout(20000) });
  },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: {
    // Resource servers keep their own lifetimes (https://short.test: 1s).
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || accessTTL,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (ctx, resource) => ({
        scope: 'api',
        audience: resource,
        accessTokenTTL: resource === 'https://short.test' ? 1 : 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // The stock page asks "are you sure?"; a test confirms at once.
      logoutSource: async (ctx, form) => {
        ctx.body = `<!DOCTYPE html><html><body>${form.replace('</form>', '<input type="hidden" name="logout" value="yes"></form>')}`
          + '<script>document.forms[0].submit()</script></body></html>';
      },
    },
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('grant.success', (ctx) => {
  if (ctx.oidc.params.grant_type === 'refresh_token') grants.refresh_token.ok += 1;
});
provider.on('backchannel.success', () => { backchannel.ok += 1; });
provider.on('backchannel.error', (ctx, err) => {
  backchannel.failed += 1;
  backchannel.errors.push(String(err));
});
provider.on('grant.error', (ctx) => {
  if (ctx.oidc.params?.grant_type === 'refresh_token') grants.refresh_token.refused += 1;
});

const page = (title, body) => `<!DOCTYPE html><html><head><title>${title}</title></head><body>${body}</body></html>`;
const loginForm = (uid, error) => page('Sign in', `
<h1>Sign in</h1>${error ? `<p id="error">${error}</p>` : ''}
<form id="login" method="post" action="/interaction/${uid}/login">
  <input id="username" name="username" autocomplete="username">
  <input id="password" name="password" type="password" autocomplete="current-password">
  <button id="signin" type="submit">Sign in</button>
</form>`);

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function send(res, status, html) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

// interaction serves the login form, checks the password, and grants
// consent without asking (the edge is a first-party client).
async function interaction(req, res, uid, isLogin) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Error', 'interaction mismatch'));
  const { prompt, params, session } = details;
  if (prompt.name === 'login') {
    if (!isLogin || req.method !== 'POST') return send(res, 200, loginForm(uid));
    const form = new URLSearchParams(await readBody(req));
    const u = users[form.get('username')];
    if (!u || u.password !== form.get('password')) return send(res, 200, loginForm(uid, 'wrong username or password'));
    return provider.interactionFinished(req, res, { login: { accountId: form.get('username') } }, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const d = prompt.details;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(d.missingResourceScopes || {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const handler = provider.callback();
createServer((req, res) => {
  if (req.url === '/test/grants') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    return res.end(JSON.stringify(grants));
  }
  if (req.url === '/test/backchannel') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    return res.end(JSON.stringify(backchannel));
  }
  const m = new URL(req.url, issuer).pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!m) return handler(req, res);
  interaction(req, res, m[1], Boolean(m[2])).catch((err) => {
    console.error('interaction', err);
    if (!res.headersSent) send(res, 500, page('Error', String(err)));
  });
}).listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
