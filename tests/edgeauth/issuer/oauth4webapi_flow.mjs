// The authorization code + PKCE flow as a Node relying party does it with oauth4webapi (panva), against a live
// Vigil issuer. Driven by tests/edgeauth/issuer/test_interop.py over stdio, one JSON object per line:
//   argv: <oauth4webapi build/index.js> <issuer URL> <client id> <client secret or ""> <redirect URI> <scope>
//   out:  {"authorize": url}         in: the URL the browser was redirected back to
//   out:  {"id_token", "access_token", "claims", "userinfo"}   or {"error": message} and exit code 1
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const [modulePath, issuerUrl, clientId, clientSecret, redirectUri, scope] = process.argv.slice(2);
const oauth = await import(pathToFileURL(modulePath).href);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (message) => process.stdout.write(JSON.stringify(message) + "\n");

try {
  // Plain http is the loopback test server only; oauth4webapi refuses it unless told.
  const insecure = { [oauth.allowInsecureRequests]: true };
  const issuer = new URL(issuerUrl);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...insecure }),
  );
  const client = { client_id: clientId };
  const auth = clientSecret ? oauth.ClientSecretBasic(clientSecret) : oauth.None();
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: "code",
    scope,
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  }).toString();
  say({ authorize: url.href });

  const callback = new URL((await lines.next()).value.trim());
  const params = oauth.validateAuthResponse(as, client, callback, state);
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, verifier, insecure),
    { expectedNonce: nonce, requireIdToken: true },
  );
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  const userinfo = await oauth.processUserInfoResponse(
    as,
    client,
    claims.sub,
    await oauth.userInfoRequest(as, client, tokens.access_token, insecure),
  );
  say({ id_token: tokens.id_token, access_token: tokens.access_token, claims, userinfo });
  process.exit(0);
} catch (error) {
  say({ error: `${error.name}: ${error.message}${error.cause ? ` (${JSON.stringify(error.cause)})` : ""}` });
  process.exit(1);
}
