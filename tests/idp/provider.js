// provider.js - a real OpenID provider (oidc-provider) over HTTPS on loopback, for the
// integration tests: client credentials with a resource indicator give JWT access tokens,
// signed with the keys of a JWKS file the test writes (restart with another file to rotate).
// usage: node provider.js --issuer URL --port N --cert PEM --key PEM --jwks FILE --log FILE
//        [--resources URL,URL]
// Every request is appended to the log as "METHOD PATH" before it is answered.
import fs from 'node:fs';
import https from 'node:https';
import Provider, { errors } from 'oidc-provider';

const opts = {};
for (let i = 2; i < process.argv.length; i += 2) {
	opts[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
for (const k of ['issuer', 'port', 'cert', 'key', 'jwks', 'log']) {
	if (!opts[k]) {
		console.error(`provider.js: --${k} is required`);
		process.exit(2);
	}
}
const resources = (opts.resources || 'https://api.test').split(',');

const provider = new Provider(opts.issuer, {
	clients: [
		{
			client_id: 'svc-reports',
			client_secret: 'svc-reports-secret',
			grant_types: ['client_credentials'],
			redirect_uris: [],
			response_types: [],
		},
	],
	jwks: JSON.parse(fs.readFileSync(opts.jwks, 'utf8')),
	scopes: ['api'],
	cookies: { keys: ['pdp-test-only-cookie-key'] },
	features: {
		devInteractions: { enabled: false },
		clientCredentials: { enabled: true },
		resourceIndicators: {
			enabled: true,
			useGrantedResource: () => true,
			getResourceServerInfo(ctx, resource) {
				if (!resources.includes(resource)) throw new errors.InvalidTarget();
				return {
					scope: 'api',
					audience: resource,
					accessTokenTTL: 3600,
					accessTokenFormat: 'jwt',
					jwt: { sign: { alg: 'RS256' } },
				};
			},
		},
	},
});

const log = fs.openSync(opts.log, 'a');
const callback = provider.callback();
const server = https.createServer(
	{ cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) },
	(req, res) => {
		fs.writeSync(log, `${req.method} ${req.url.split('?')[0]}\n`);
		callback(req, res);
	},
);
server.listen(Number(opts.port), '127.0.0.1', () => console.log(`listening on ${opts.port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
