// Known-answer tests of the guard's group and proofs: RFC 9496 appendix A (ristretto255
// encodings, bad encodings, element derivation) and RFC 9497 appendix A.1.2 (the VOPRF
// vectors of ristretto255-SHA512, whose DLEQ proofs our generateProof must reproduce byte for
// byte with the RFC's context string and proof random scalar).
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInThisContext } from 'node:vm';
import { ristretto255_hasher, ristretto255_oprf } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8, concat } from '../src/core/crypto/bytes';
import {
  BASE,
  decodePoint,
  decodeScalar,
  elementFromUniformBytes,
  encodePoint,
  hashToScalar,
  IDENTITY,
  interpreted,
  mayHoldOffOptimizer,
  mulBase,
  randomScalar,
  sumOfProducts,
} from '../src/core/guard/group';
import { generateProof, verifyProof, GUARD_CONTEXT } from '../src/core/guard/dleq';

const hex = (s: string): Uint8Array => fromHex(s, 'vector');

// RFC 9496 A.1: encodings of 0·B … 15·B.
const MULTIPLES = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  'e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76',
  '6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919',
  '94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259',
  'da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57',
  'e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e',
  'f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403',
  '44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d',
  '903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c',
  '02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031',
  '20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f',
  'bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42',
  'e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460',
  'aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f',
  '46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e',
  'e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e',
];

// RFC 9496 A.2: a selection of every kind of bad encoding.
const BAD = [
  // non-canonical field encodings
  '00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  // negative field elements
  '0100000000000000000000000000000000000000000000000000000000000000',
  '01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  // non-square x^2
  '26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371',
  '4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f',
  'de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b',
  'bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042',
  '2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08',
  'f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22',
  '8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731',
  '2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b',
  // negative x·y
  '3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e',
  'a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220',
  'd483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e',
  '8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32',
  '32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b',
  '227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165',
  '5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e',
  '445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b',
  // s = -1, which makes y = 0
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

// RFC 9496 A.3: element derivation from 64 uniform bytes.
const DERIVED: [string, string][] = [
  [
    '5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c14d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6',
    '3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46',
  ],
  [
    'f116b34b8f17ceb56e8732a60d913dd10cce47a6d53bee9204be8b44f6678b270102a56902e2488c46120e9276cfe54638286b9e4b3cdb470b542d46c2068d38',
    'f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b',
  ],
  [
    '8422e1bbdaab52938b81fd602effb6f89110e1e57208ad12d9ad767e2e25510c27140775f9337088b982d83d7fcf0b2fa1edffe51952cbe7365e95c86eaf325c',
    '006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826',
  ],
  [
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff1200000000000000000000000000000000000000000000000000000000000000',
    '304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f',
  ],
];

describe('ristretto255 (RFC 9496 appendix A)', () => {
  it('encodes the multiples 0..15 of the generator and decodes them back', () => {
    for (let k = 0; k < MULTIPLES.length; k++) {
      const point = mulBase(BigInt(k));
      expect(toHex(encodePoint(point))).toBe(MULTIPLES[k]);
      expect(decodePoint(hex(MULTIPLES[k]!), 'vector', true).equals(point)).toBe(true);
    }
    expect(toHex(encodePoint(BASE))).toBe(MULTIPLES[1]);
  });

  it('refuses every bad encoding, and the identity unless asked', () => {
    for (const bad of BAD) expect(() => decodePoint(hex(bad), 'vector', true), bad).toThrow(/not a valid/);
    expect(() => decodePoint(hex(MULTIPLES[0]!), 'vector')).toThrow(/identity/);
    expect(() => decodePoint(new Uint8Array(31), 'vector')).toThrow(/32-byte/);
  });

  it('derives the RFC elements from uniform bytes', () => {
    for (const [input, output] of DERIVED) expect(toHex(encodePoint(elementFromUniformBytes(hex(input))))).toBe(output);
  });

  it("hashes to scalars as noble's expand_message_xmd does, for every length of message and DST", () => {
    for (const [m, d] of [
      [0, 1],
      [1, 20],
      [64, 40],
      [127, 128],
      [128, 200],
      [1000, 255],
    ] as const) {
      const message = new Uint8Array(randomBytes(m));
      const dst = new Uint8Array(randomBytes(d));
      expect(hashToScalar(message, dst)).toBe(ristretto255_hasher.hashToScalar(message, { DST: dst }));
    }
    expect(() => hashToScalar(new Uint8Array(1), new Uint8Array(256))).toThrow(RangeError);
  });

  it('sums products as separate multiplications do, zero scalars and the identity included', () => {
    const points = [BASE, mulBase(randomScalar()), IDENTITY, mulBase(randomScalar())];
    const scalars = [randomScalar(), randomScalar(), randomScalar(), 0n];
    const naive = points.reduce((acc, p, i) => (scalars[i] === 0n ? acc : acc.add(p.multiply(scalars[i]!))), IDENTITY);
    expect(sumOfProducts(points, scalars).equals(naive)).toBe(true);
    expect(sumOfProducts([], []).equals(IDENTITY)).toBe(true);
    expect(() => sumOfProducts([BASE], [])).toThrow(RangeError);
  });

  it("remembers a point's encoding without letting a caller's wipe reach it", () => {
    const P = decodePoint(hex(MULTIPLES[5]!), 'P');
    expect(toHex(encodePoint(P))).toBe(MULTIPLES[5]);
    encodePoint(P).fill(0);
    expect(toHex(encodePoint(P))).toBe(MULTIPLES[5]);
    const Q = mulBase(randomScalar());
    const q = encodePoint(Q);
    q.fill(0);
    expect(encodePoint(Q)).toEqual(Q.toBytes());
  });

  it('refuses a non-canonical scalar', () => {
    // L itself, little-endian.
    const L = hex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');
    expect(() => decodeScalar(L, 'k')).toThrow(/canonical/);
    expect(decodeScalar(new Uint8Array(32), 'k')).toBe(0n);
  });
});

// RFC 9497 A.1.2: VOPRF mode, ristretto255-SHA512.
const VOPRF_CONTEXT = concat(utf8('OPRFV1-'), Uint8Array.of(1), utf8('-ristretto255-SHA512'));
const SK = 'e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909';
const PK = 'c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e';
const VOPRF = [
  {
    name: 'test vector 1, batch size 1',
    blinded: ['863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945'],
    evaluated: ['aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e'],
    proof:
      'ddef93772692e535d1a53903db24367355cc2cc78de93b3be5a8ffcc6985dd066d4346421d17bf5117a2a1ff0fcb2a759f58a539dfbe857a40bce4cf49ec600d',
    nonce: '222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e',
  },
  {
    name: 'test vector 3, batch size 2',
    blinded: [
      '863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945',
      '90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbbadac751e654',
    ],
    evaluated: [
      'aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e',
      'cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db920b7eee36a2a',
    ],
    proof:
      'cc203910175d786927eeb44ea847328047892ddf8590e723c37205cb74600b0a5ab5337c8eb4ceae0494c2cf89529dcf94572ed267473d567aeed6ab873dee08',
    nonce: '419c4f4f5052c53c45f3da494d2b67b220d02118e0857cdbcf037f9ea84bbe0c',
  },
];

describe('DLEQ proofs (RFC 9497 section 2.2, appendix A.1.2)', () => {
  const k = decodeScalar(hex(SK), 'skSm');
  const B = decodePoint(hex(PK), 'pkSm');

  it('the vectors key pair is consistent', () => {
    expect(mulBase(k).equals(B)).toBe(true);
  });

  for (const v of VOPRF) {
    it(`reproduces and verifies the proof of ${v.name}`, () => {
      const C = v.blinded.map((h) => decodePoint(hex(h), 'blinded'));
      const D = v.evaluated.map((h) => decodePoint(hex(h), 'evaluated'));
      const proof = generateProof(VOPRF_CONTEXT, k, B, C, D, decodeScalar(hex(v.nonce), 'nonce'));
      expect(toHex(proof)).toBe(v.proof);
      expect(verifyProof(VOPRF_CONTEXT, B, C, D, hex(v.proof))).toBe(true);
      // The same proof under Shardvault's context, another element or a flipped bit fails.
      expect(verifyProof(GUARD_CONTEXT, B, C, D, hex(v.proof))).toBe(false);
      expect(verifyProof(VOPRF_CONTEXT, B, C, [...D.slice(1), mulBase(7n)], hex(v.proof))).toBe(false);
      const flipped = hex(v.proof);
      flipped[40]! ^= 1;
      expect(verifyProof(VOPRF_CONTEXT, B, C, D, flipped)).toBe(false);
    });
  }

  it("agrees with noble's own VOPRF both ways (an independent implementation of the same proof)", () => {
    const voprf = ristretto255_oprf.voprf;
    for (let i = 0; i < 5; i++) {
      const keys = voprf.generateKeyPair();
      const input = utf8(`input ${i}`);
      const { blind, blinded } = voprf.blind(input);
      // noble proves, we verify.
      const { evaluated, proof } = voprf.blindEvaluate(keys.secretKey, keys.publicKey, blinded);
      const pk = decodePoint(keys.publicKey, 'pk');
      const C = [decodePoint(blinded, 'blinded')];
      const D = [decodePoint(evaluated, 'evaluated')];
      expect(verifyProof(VOPRF_CONTEXT, pk, C, D, proof)).toBe(true);
      // We prove, noble verifies (finalize throws on a bad proof).
      const ours = generateProof(VOPRF_CONTEXT, decodeScalar(keys.secretKey, 'sk'), pk, C, D);
      expect(() => voprf.finalize(input, blind, evaluated, blinded, keys.publicKey, ours)).not.toThrow();
      const bad = generateProof(VOPRF_CONTEXT, decodeScalar(keys.secretKey, 'sk'), pk, C, [mulBase(3n)]);
      expect(() => voprf.finalize(input, blind, evaluated, blinded, keys.publicKey, bad)).toThrow();
    }
  });

  it('a proof under GUARD_CONTEXT verifies under it only', () => {
    const R = mulBase(123456789n);
    const Z = R.multiply(k);
    const proof = generateProof(GUARD_CONTEXT, k, B, [R], [Z]);
    expect(verifyProof(GUARD_CONTEXT, B, [R], [Z], proof)).toBe(true);
    expect(verifyProof(VOPRF_CONTEXT, B, [R], [Z], proof)).toBe(false);
    expect(verifyProof(GUARD_CONTEXT, B, [R], [Z.add(BASE)], proof)).toBe(false);
    // Checked with V8's optimizing compiler held off, as an opening checks them: the same answers.
    expect(interpreted(() => verifyProof(GUARD_CONTEXT, B, [R], [Z], proof))).toBe(true);
    expect(interpreted(() => verifyProof(GUARD_CONTEXT, B, [R], [Z.add(BASE)], proof))).toBe(false);
  });

  it('interpreted holds the optimizing compiler off for its work only, a throw and nesting included', (ctx) => {
    if (!mayHoldOffOptimizer()) {
      console.log('skipped: this process was started with a flag about V8 compilers, interpreted changes none');
      ctx.skip();
    }
    // V8's test intrinsics, to ask for an optimization now and read whether it happened: their
    // %-syntax is no TypeScript, so the source is compiled here by V8 itself.
    setFlagsFromString('--allow-natives-syntax');
    const optimizes = runInThisContext(
      '(f) => { %PrepareFunctionForOptimization(f); f(); f(); %OptimizeFunctionOnNextCall(f); f(); ' +
        'return (%GetOptimizationStatus(f) & 16) !== 0; }',
    ) as (f: () => unknown) => boolean;
    // A function never run before (V8 shares the code of one source text between closures).
    let made = 0;
    const fresh = (): (() => unknown) =>
      runInThisContext(
        `() => { let s = ${++made}n; for (let i = 0n; i < 9n; i++) s += i * i; return s; }`,
      ) as () => unknown;
    expect(optimizes(fresh())).toBe(true);
    expect(interpreted(() => optimizes(fresh()))).toBe(false);
    expect(optimizes(fresh())).toBe(true);
    expect(interpreted(() => [interpreted(() => 7), optimizes(fresh())])).toEqual([7, false]);
    expect(() =>
      interpreted(() => {
        throw new RangeError('inside');
      }),
    ).toThrow('inside');
    expect(optimizes(fresh())).toBe(true);
  });
});
