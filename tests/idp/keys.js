// keys.js - RSA keys and RS256 tokens for the integration tests, with node's crypto only.
//   node keys.js gen KID OUT            a JWKS with one private RSA key (the provider's)
//   node keys.js public IN OUT          the same set without the private members
//   node keys.js sign JWKS CLAIMS [KID] a token signed by the set's first key (kid: KID if given)
//   node keys.js forge JWKS N CLAIMS    N tokens signed by the set's key, each with a random kid
import crypto from 'node:crypto';
import fs from 'node:fs';

const [cmd, ...args] = process.argv.slice(2);
const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const firstKey = (file) => JSON.parse(fs.readFileSync(file, 'utf8')).keys[0];

function sign(jwk, kid, claims) {
	const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(claims)}`;
	const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
	return `${input}.${crypto.sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

switch (cmd) {
	case 'gen': {
		const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
		const jwk = { ...privateKey.export({ format: 'jwk' }), kid: args[0], alg: 'RS256', use: 'sig' };
		fs.writeFileSync(args[1], JSON.stringify({ keys: [jwk] }, null, 1));
		break;
	}
	case 'public': {
		const set = JSON.parse(fs.readFileSync(args[0], 'utf8'));
		const keys = set.keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub);
		fs.writeFileSync(args[1], JSON.stringify({ keys }, null, 1));
		break;
	}
	case 'sign': {
		const jwk = firstKey(args[0]);
		console.log(sign(jwk, args[2] || jwk.kid, JSON.parse(args[1])));
		break;
	}
	case 'forge': {
		const jwk = firstKey(args[0]);
		const claims = JSON.parse(args[2]);
		for (let i = 0; i < Number(args[1]); i++) {
			console.log(sign(jwk, crypto.randomBytes(12).toString('hex'), claims));
		}
		break;
	}
	default:
		console.error('usage: keys.js gen|public|sign|forge ...');
		process.exit(2);
}
