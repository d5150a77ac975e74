// por-v1 and por-v2 proof verification, as one ES module: it runs unchanged in Node (verify-cli.mjs)
// and in the browser (the offline verifier page). Its one import is BLAKE3 from the audited
// @noble/hashes package, pinned in package.json / package-lock.json: Node resolves it from
// node_modules (`npm ci` here), the page maps it to the bundle it embeds (pipeline/webmodule.py).
// The official BLAKE3 test vectors run against it in the test suite, in Node and in the page.
// Ed25519 comes from WebCrypto (the browser's, or Node's), after this module's own strict checks on the
// key and the signature's encoding (as the Python verifier's). Nothing here touches the network.

import { blake3 as nobleBlake3 } from "@noble/hashes/blake3.js";

const utf8 = (text) => new TextEncoder().encode(text);

/** BLAKE3 of `data` (Uint8Array); `length` bytes of output (default 32). */
export function blake3(data, length = 32) {
  return nobleBlake3(data, { dkLen: length });
}

/** BLAKE3 keyed mode with a 32-byte key. */
export function blake3Keyed(key, data, length = 32) {
  if (key.length !== 32) throw new Error("a BLAKE3 key is 32 bytes");
  return nobleBlake3(data, { key, dkLen: length });
}

/** BLAKE3 derive-key mode: `context` is a string, `material` bytes. */
export function blake3DeriveKey(context, material, length = 32) {
  return nobleBlake3(material, { context: utf8(context), dkLen: length });
}

// ---------------------------------------------------------------------------- por-v1 checks

export const VERSION = "por-v1";
export const VERSION_V2 = "por-v2";
const VERSIONS = [VERSION, VERSION_V2];
const MAX_DECIMALS = 38, MAX_ASSETS = 255, MAX_BUCKET_BITS = 24;
const U128 = 1n << 128n;
const MAX_HEIGHT = 64;
const HEX32 = /^[0-9a-f]{64}$/;
const CANONICAL = /^(0|[1-9][0-9]*)$/;
const PERIOD = /^[0-9]{4}-(0[1-9]|1[0-2])$/;

/** A failed check: `check` is the machine name (as in the Python verifier), `level` the tree level. */
export class VerificationError extends Error {
  constructor(check, message, level = null) {
    super(`${check}${level === null ? "" : ` at level ${level}`}: ${message}`);
    this.check = check;
    this.level = level;
  }
}

const fail = (check, message, level = null) => {
  throw new VerificationError(check, message, level);
};

export const hexToBytes = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
export const bytesToHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function u128be(value) {
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--, value >>= 8n) out[i] = Number(value & 0xffn);
  return out;
}

const encodeSums = (sums) => concat(...sums.map(u128be));
const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

function field(obj, key, type, check, what) {
  if (!isObject(obj) || !(key in obj)) fail(check, `${what} has no field '${key}'`);
  const v = obj[key];
  const ok = type === "integer" ? Number.isSafeInteger(v) : type === "array" ? Array.isArray(v)
    : type === "object" ? isObject(v) : typeof v === type;
  if (!ok) fail(check, `${what} field '${key}' must be ${type}`);
  return v;
}

function hex32(value, check, what, level = null) {
  if (typeof value !== "string" || !HEX32.test(value)) fail(check, `${what} must be 64 lowercase hex characters`, level);
  return hexToBytes(value);
}

function amounts(values, m, what, level = null) {
  if (!Array.isArray(values) || values.length !== m) {
    fail("format", `${what} must be a list of ${m} amounts, got ${Array.isArray(values) ? values.length : typeof values}`, level);
  }
  return values.map((v, i) => {
    if (typeof v !== "string") fail("number", `${what}[${i}]: amount must be a decimal string`, level);
    if (!CANONICAL.test(v)) fail("number", `${what}[${i}]: amount '${v}' is not a canonical non-negative decimal integer`, level);
    const n = BigInt(v);
    if (n >= U128) fail("number", `${what}[${i}]: amount ${v} is not below 2^128`, level);
    return n;
  });
}

function node(obj, m, what, level) {
  if (!isObject(obj)) fail("format", `${what} must be an object with hash and sums`, level);
  return [hex32(obj.hash, "format", `${what}.hash`, level), amounts(obj.sums, m, `${what}.sums`, level)];
}

function decimalsOf(value, check, what) {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_DECIMALS) {
    fail(check, `${what} must be an integer in [0, ${MAX_DECIMALS}], got ${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
  }
  return value;
}

/** por-v2's `[{symbol, decimals}]`: unique symbols in protocol order, bounded decimals. */
function assetList(assets, check, what) {
  if (!Array.isArray(assets) || assets.length < 1 || assets.length > MAX_ASSETS) {
    fail(check, `${what} must be a list of 1 to ${MAX_ASSETS} assets`);
  }
  const out = assets.map((a) => {
    const symbol = field(a, "symbol", "string", check, `${what} asset`);
    if (symbol === "" || utf8(symbol).length > 32) fail(check, `${what} symbol '${symbol}' must be 1 to 32 bytes`);
    return [symbol, decimalsOf(a.decimals, check, `${what} decimals of '${symbol}'`)];
  });
  const symbols = out.map(([s]) => s);
  const sorted = [...symbols].sort((a, b) => compareBytes(utf8(a), utf8(b)));
  if (sorted.some((s, i) => s !== symbols[i]) || new Set(symbols).size !== symbols.length) {
    fail(check, `${what} assets are not unique and sorted by symbol`);
  }
  return out;
}

/** ``lp(x) = u8(len(UTF-8(x))) ‖ UTF-8(x)``. */
function lp(text) {
  const raw = utf8(text);
  if (raw.length > 255) throw new Error("label longer than 255 bytes");
  return concat(Uint8Array.of(raw.length), raw);
}

/** por-v2's announced value C over the labels, decimals, shape and root node (schemas/por-v2.md). */
export function commitment(period, assets, k, h, rootHash, rootSums) {
  const parts = [Uint8Array.of(3), lp(VERSION_V2), lp(period), Uint8Array.of(assets.length)];
  for (const [symbol, decimals] of assets) parts.push(lp(symbol), Uint8Array.of(decimals));
  parts.push(Uint8Array.of(k), Uint8Array.of(h), rootHash, encodeSums(rootSums));
  return blake3(concat(...parts));
}

/** por-v2: the announced value recomputed from the manifest's own fields. */
export function manifestCommitment(manifest) {
  const [rootHash, rootSums] = node(manifest.root, manifest.assets.length, "manifest root", null);
  return commitment(manifest.period, manifest.assets.map((a) => [a.symbol, a.decimals]),
    manifest.tree.bucket_bits, manifest.tree.bucket_height, rootHash, rootSums);
}

// ---------------------------------------------------------------------------- strict JSON

export const MAX_DOCUMENT_BYTES = 16 << 20;
export const MAX_DEPTH = 32;
export const MAX_INTEGER_DIGITS = 40;

/** The UTF-8 bytes of `text`, or null when it holds a lone surrogate (it has no UTF-8 form). */
export function utf8Strict(text) {
  for (let j = 0; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c >= 0xd800 && c <= 0xdbff && j + 1 < text.length) {
      const d = text.charCodeAt(j + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { j++; continue; }
    }
    if (c >= 0xd800 && c <= 0xdfff) return null;
  }
  return utf8(text);
}

/**
 * Read a JSON document strictly, exactly as the Python verifier does (pipeline/protocol/jsonread.py):
 * `input` is raw bytes (a Uint8Array: a file as read) or a string (pasted text, read as its UTF-8 bytes;
 * one with a lone surrogate has none, and is not UTF-8). Refused with the check "input": more than
 * MAX_DOCUMENT_BYTES, a byte-order mark, bytes that are not UTF-8, nesting deeper than MAX_DEPTH,
 * duplicate keys, any number with a fraction or an exponent, an integer of more than MAX_INTEGER_DIGITS
 * digits (the sign not counted), a lone surrogate, trailing garbage. Integers beyond JavaScript's exact
 * range are kept as BigInt (and refused where an integer is read).
 */
export function parseDocument(input, what) {
  const bad = (reason) => fail("input", `${what}: not valid JSON (${reason})`);
  let raw = input;
  if (typeof input === "string") {
    raw = utf8Strict(input);
    if (raw === null) bad("not UTF-8: the text holds a lone surrogate");
  }
  if (raw.length > MAX_DOCUMENT_BYTES) bad(`${raw.length} bytes, more than ${MAX_DOCUMENT_BYTES}`);
  if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) bad("starts with a byte-order mark");
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    bad("not UTF-8");
  }
  let i = 0, depth = 0;
  const ws = () => { while (i < text.length && " \t\n\r".includes(text[i])) i++; };
  const expect = (ch) => { if (text[i] !== ch) bad(`expected '${ch}' at character ${i}`); i++; };
  function string() {
    expect('"');
    let out = "";
    for (;;) {
      if (i >= text.length) bad("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; break; }
      if (c < 0x20) bad(`control character in a string at character ${i}`);
      if (c === 0x5c) {
        const e = text[i + 1];
        const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e in simple) { out += simple[e]; i += 2; continue; }
        if (e !== "u" || !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) bad(`invalid escape at character ${i}`);
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
      out += text[i];
      i++;
    }
    for (let j = 0; j < out.length; j++) {
      const c = out.charCodeAt(j);
      if (c >= 0xd800 && c <= 0xdbff && j + 1 < out.length) {
        const d = out.charCodeAt(j + 1);
        if (d >= 0xdc00 && d <= 0xdfff) { j++; continue; }
      }
      if (c >= 0xd800 && c <= 0xdfff) bad("a string holds a lone surrogate");
    }
    return out;
  }
  const NUMBER = /-?(0|[1-9][0-9]*)([.eE][-+0-9.eE]*)?/y;
  function number() {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) bad(`unexpected character at character ${i}`);
    if (m[2] !== undefined) bad(`number ${m[0].slice(0, 60)} has a fraction or an exponent; only integers are allowed`);
    if (m[1].length > MAX_INTEGER_DIGITS) bad(`an integer of ${m[1].length} digits, more than ${MAX_INTEGER_DIGITS}`);
    i += m[0].length;
    const n = BigInt(m[0]);
    return n >= -BigInt(Number.MAX_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  function value() {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      if (++depth > MAX_DEPTH) bad(`nested deeper than ${MAX_DEPTH}`);
      i++;
      ws();
      let result;
      if (c === "{") {
        result = {};
        const keys = new Set();
        if (text[i] === "}") i++;
        else for (;;) {
          ws();
          const key = string();
          if (keys.has(key)) bad(`duplicate keys in an object: ['${key}']`);
          keys.add(key);
          ws();
          expect(":");
          Object.defineProperty(result, key, { value: value(), enumerable: true, writable: true, configurable: true });
          ws();
          if (text[i] === ",") { i++; continue; }
          expect("}");
          break;
        }
      } else {
        result = [];
        if (text[i] === "]") i++;
        else for (;;) {
          result.push(value());
          ws();
          if (text[i] === ",") { i++; continue; }
          expect("]");
          break;
        }
      }
      depth--;
      return result;
    }
    if (c === '"') return string();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    return number();
  }
  const doc = value();
  ws();
  if (i !== text.length) bad(`extra data at character ${i}`);
  return doc;
}

// ------------------------------------------------------------------- manifest signatures

/** RFC 8785 canonical JSON of a document of this protocol (objects, arrays, strings, integers, booleans). */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));  // UTF-16 code units
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  if (typeof value === "bigint") return value.toString();
  return JSON.stringify(value);
}

const SPKI_ED25519 = "302a300506032b6570032100";

/** The 32 raw bytes of an Ed25519 public key in SubjectPublicKeyInfo PEM (``por keygen --signing``'s FILE.pub). */
export function publicKeyFromPem(pem) {
  const body = String(pem).replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  let der;
  try {
    der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  } catch {
    fail("signature", "the public key is not a PEM public key");
  }
  if (der.length !== 44 || bytesToHex(der.subarray(0, 12)) !== SPKI_ED25519) {
    fail("signature", "the public key is not an Ed25519 public key");
  }
  const key = der.subarray(12);
  strictPoint(key, "the public key");  // as the Python verifier reads a key file: no signature under it could count
  return key;
}

// Strict Ed25519 (schemas/reserves.md, "Ed25519"; the rules of pipeline/ownership/ed25519.py's check_strict):
// WebCrypto, like OpenSSL, accepts a small-order public key A with a small-order R and S = 0 for every
// message, a "signature" made without any private key; so A and R must be canonical encodings (y below p, no
// "negative zero" x), neither one of the eight points of order dividing 8, and S below the group order L.
const ED25519_P = (1n << 255n) - 19n;
const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n;

/** The canonical encodings (hex) of the eight points P with 8·P = identity: the identity (y = 1), the point of
 * order 2 (y = -1), two of order 4 (y = 0) and four of order 8. Python computes the same set (SMALL_ORDER). */
export const SMALL_ORDER_POINTS = Object.freeze([
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]);

/** The unsigned integer of little-endian `bytes`. */
const littleEndian = (bytes) => bytes.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);

function strictPoint(raw, what) {
  const y = littleEndian(raw) & ((1n << 255n) - 1n);
  if (y >= ED25519_P) fail("signature", `${what} is not a canonical Ed25519 point encoding (y >= p)`);
  if (raw[31] >> 7 && (y === 1n || y === ED25519_P - 1n)) {
    fail("signature", `${what} is not a canonical Ed25519 point encoding (negative zero)`);
  }
  if (SMALL_ORDER_POINTS.includes(bytesToHex(raw))) {
    fail("signature", `${what} is a small-order Ed25519 point: such a signature verifies for any message `
      + "without a private key");
  }
}

/** The strict rules on A (32 bytes) and the signature's R and S (64 bytes); VerificationError("signature", …)
 * naming the rule broken. That A and R are on the curve at all is WebCrypto's decoding. */
export function checkStrictEd25519(publicKey, signature) {
  strictPoint(publicKey, "the public key");
  strictPoint(signature.subarray(0, 32), "the signature's R");
  if (littleEndian(signature.subarray(32)) >= ED25519_L) {
    fail("signature", "the signature's S is not below the group order L (non-canonical)");
  }
}

/**
 * The manifest's Ed25519 signature (``signature.json``) by the exchange's key: the strict rules above, then
 * WebCrypto (the browser's, or Node's) over the manifest's RFC 8785 bytes, as the Python verifier checks it.
 * Throws VerificationError("signature", …).
 */
export async function verifyManifestSignature(manifest, signature, publicKey) {
  if (!isObject(signature) || signature.algorithm !== "Ed25519") fail("signature", "not an Ed25519 signature document");
  if (signature.public_key !== bytesToHex(publicKey)) {
    fail("signature", `signed by key '${signature.key_id}', not by the given public key`);
  }
  if (typeof signature.signature !== "string" || !/^[0-9a-f]{128}$/.test(signature.signature)) {
    fail("signature", "the signature does not match the manifest");
  }
  const raw = hexToBytes(signature.signature);
  checkStrictEd25519(publicKey, raw);  // before WebCrypto, which accepts a small-order A and R with S = 0
  const subtle = globalThis.crypto.subtle;
  let ok;
  try {
    const key = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    ok = await subtle.verify({ name: "Ed25519" }, key, raw, utf8(canonicalJson(manifest)));
  } catch (e) {
    if (e?.name === "NotSupportedError") throw e;  // no Ed25519 in this WebCrypto: not a verdict on the signature
    ok = false;  // a key WebCrypto cannot decode (not on the curve): no signature verifies under it
  }
  if (!ok) fail("signature", "the signature does not match the manifest");
}

/** Structural checks on a published manifest; for por-v2, its commitment must be its fields' value. */
export function checkManifest(manifest) {
  const version = field(manifest, "version", "string", "manifest", "manifest");
  if (!VERSIONS.includes(version)) fail("manifest", `unsupported manifest version '${version}'`);
  if (version === VERSION_V2) assetList(manifest.assets, "manifest", "manifest");
  const period = field(manifest, "period", "string", "manifest", "manifest");
  if (!PERIOD.test(period)) fail("manifest", `manifest period '${period}' is not YYYY-MM`);
  const assets = field(manifest, "assets", "array", "manifest", "manifest");
  const symbols = assets.map((a) => {
    const symbol = field(a, "symbol", "string", "manifest", "manifest asset");
    decimalsOf(field(a, "decimals", "integer", "manifest", "manifest asset"), "manifest", "manifest asset decimals");
    return symbol;
  });
  const sorted = [...symbols].sort((a, b) => compareBytes(utf8(a), utf8(b)));
  if (sorted.some((s, i) => s !== symbols[i]) || new Set(symbols).size !== symbols.length) {
    fail("manifest", "manifest assets are not unique and sorted by symbol");
  }
  const tree = field(manifest, "tree", "object", "manifest", "manifest");
  const k = field(tree, "bucket_bits", "integer", "manifest", "manifest tree");
  const h = field(tree, "bucket_height", "integer", "manifest", "manifest tree");
  const t = field(tree, "height", "integer", "manifest", "manifest tree");
  if (k < 0 || h < 0 || t !== k + h || t > MAX_HEIGHT) fail("manifest", `inconsistent tree shape k=${k} h=${h} T=${t}`);
  node(manifest.root, symbols.length, "manifest root", null);
  if (version === VERSION_V2) {
    const stored = hex32(manifest.commitment, "manifest", "manifest commitment");
    const recomputed = manifestCommitment(manifest);
    if (bytesToHex(stored) !== bytesToHex(recomputed)) {
      fail("manifest", `the manifest's commitment ${bytesToHex(stored)} is not the value of its own fields (${bytesToHex(recomputed)})`);
    }
  }
}

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** por-v1 hashing, exactly as in schemas/por-v1.md. */
export function userKey(nonce, period, userId) {
  const p = utf8(period);
  return blake3Keyed(nonce, concat(Uint8Array.of(p.length), p, utf8(userId)));
}
export const leafHash = (uk, balances) => blake3(concat(Uint8Array.of(0), uk, encodeSums(balances)));
export const nodeHash = (lh, ls, rh, rs) => blake3(concat(Uint8Array.of(1), lh, encodeSums(ls), rh, encodeSums(rs)));

function bucketOf(uk, k) {
  if (k === 0) return 0n;
  let top = 0n;
  for (let i = 0; i < 8; i++) top = (top << 8n) | BigInt(uk[i]);
  return top >> BigInt(64 - k);
}

/**
 * Verify `proof` against the published `manifest` (or, when `manifest` is null, against the
 * root hash `rootHash` obtained independently). Returns what the proof establishes; throws a
 * VerificationError naming the first failed check. `onCheck(name)` is called as each check passes.
 */
export function verifyProof(proof, manifest, rootHash = null, onCheck = () => {}, expectedUser = null) {
  if ((manifest === null) === (rootHash === null)) throw new Error("give exactly one of manifest and rootHash");
  if (!isObject(proof)) fail("format", "proof must be a JSON object");
  const version = field(proof, "version", "string", "version", "proof");
  if (version === VERSION_V2) return verifyV2(proof, manifest, rootHash, onCheck, expectedUser);
  if (version === VERSION_V3) return verifyV3(proof, manifest, rootHash, onCheck, expectedUser);
  if (version !== VERSION) fail("version", `unsupported proof version '${version}'`);
  onCheck("version");
  const period = field(proof, "period", "string", "format", "proof");
  if (!PERIOD.test(period)) fail("period", `proof period '${period}' is not YYYY-MM`);
  const assets = field(proof, "assets", "array", "format", "proof");
  if (!assets.every((a) => typeof a === "string")) fail("format", "proof assets must be symbols (strings)");
  const m = assets.length;
  const { userId, nonce, balances, position, path, siblings, declaredRoot } = leafAndPath(proof, m, expectedUser, onCheck);
  onCheck("format");

  let decimals = null, expectedHash, expectedSums = null;
  if (manifest !== null) {
    checkManifest(manifest);
    if (manifest.version !== VERSION) fail("version", `a ${VERSION} proof against a ${manifest.version} manifest`);
    if (period !== manifest.period) fail("period", `proof is for '${period}', manifest for '${manifest.period}'`);
    onCheck("period");
    const symbols = manifest.assets.map((a) => a.symbol);
    if (assets.length !== symbols.length || assets.some((a, i) => a !== symbols[i])) {
      fail("assets", `proof assets ${JSON.stringify(assets)} differ from manifest ${JSON.stringify(symbols)}`);
    }
    onCheck("assets");
    decimals = manifest.assets.map((a) => a.decimals);
    if (path.length !== manifest.tree.height) {
      fail("path-length", `path has ${path.length} entries, tree height is ${manifest.tree.height}`);
    }
    onCheck("path-length");
    [expectedHash, expectedSums] = node(manifest.root, m, "manifest root", null);
  } else {
    expectedHash = hex32(rootHash, "format", "root");
  }
  const height = path.length;
  const pos = BigInt(position);
  if (pos < 0n || pos >= 1n << BigInt(height)) fail("position", `position ${position} is outside [0, 2^${height})`);
  const uk = userKey(nonce, period, userId);
  if (manifest !== null) {
    const { bucket_bits: k, bucket_height: h } = manifest.tree;
    if (bucketOf(uk, k) !== pos >> BigInt(h)) {
      fail("position", `position ${position} is in bucket ${pos >> BigInt(h)}, the user key is in bucket ${bucketOf(uk, k)}`);
    }
  }
  onCheck("position");

  const [currentHash, currentSums] = fold(uk, balances, siblings, pos);
  onCheck("sums");
  if (bytesToHex(currentHash) !== bytesToHex(expectedHash)) {
    fail("root-hash", `path folds to ${bytesToHex(currentHash)}, published root is ${bytesToHex(expectedHash)}`);
  }
  onCheck("root-hash");
  if (expectedSums !== null && currentSums.some((s, i) => s !== expectedSums[i])) {
    fail("root-sums", "path sums differ from the published root sums");
  }
  onCheck("root-sums");
  if (bytesToHex(declaredRoot[0]) !== bytesToHex(expectedHash) || declaredRoot[1].some((s, i) => s !== currentSums[i])) {
    fail("proof-root", "the proof's own root field differs from the published root");
  }
  onCheck("proof-root");
  return { version, period, userId, assets, decimals, balances, rootHash: bytesToHex(expectedHash),
    rootSums: currentSums, commitment: null };
}

/** Walk the path up from the leaf: the root hash and sums it folds to. */
function fold(uk, balances, siblings, pos) {
  let currentHash = leafHash(uk, balances);
  let currentSums = balances;
  siblings.forEach(([sibHash, sibSums], level) => {
    const left = ((pos >> BigInt(level)) & 1n) === 0n;
    const [lh, ls, rh, rs] = left ? [currentHash, currentSums, sibHash, sibSums] : [sibHash, sibSums, currentHash, currentSums];
    currentSums = ls.map((v, i) => {
      const s = v + rs[i];
      if (s >= U128) fail("sum-overflow", `sum of asset #${i} reaches 2^128 (${s})`, level);
      return s;
    });
    currentHash = nodeHash(lh, ls, rh, rs);
  });
  return [currentHash, currentSums];
}

/**
 * por-v2: the proof carries the labels, decimals and shape it is read with; the announced value pins
 * them. Against a manifest they must be the manifest's, whose announced value is recomputed from its
 * own fields; against an announced value alone (`announced`), it is recomputed from the proof.
 * The checks, and their order, are the Python verifier's.
 */
/** The fields every version's proof shares, read and checked in the Python verifier's order. */
function leafAndPath(proof, m, expectedUser, onCheck) {
  const userId = field(proof, "user_id", "string", "format", "proof");
  const problem = userIdProblem(userId);  // the protocol's user-id rule, before any other use of the id
  if (problem !== null) fail("format", `${problem}: ${displayUserId(userId)}`);
  checkUser(userId, expectedUser);
  if (expectedUser !== null) onCheck("user-id");
  const nonce = hex32(proof.nonce, "format", "nonce");
  const balances = amounts(proof.balances, m, "balances");
  const position = field(proof, "position", "integer", "format", "proof");
  const path = field(proof, "path", "array", "format", "proof");
  const declaredRoot = node(proof.root, m, "proof root", null);
  if (path.length > MAX_HEIGHT) fail("path-length", `path has ${path.length} entries, at most ${MAX_HEIGHT}`);
  const siblings = path.map((entry, level) => node(entry, m, `path[${level}]`, level));
  return { userId, nonce, balances, position, path, siblings, declaredRoot };
}

function checkUser(userId, expected) {
  if (expected === null) return;
  const problem = userIdProblem(expected);
  if (problem !== null) fail("user-id", `the account id given, ${displayUserId(expected)}, is not a user id: ${problem}`);
  if (userId !== expected) {
    fail("user-id", `the proof is for user ${displayUserId(userId)}, not for ${displayUserId(expected)}`);
  }
}

// ---------------------------------------------------------------------------- user ids

export const MAX_USER_ID_BYTES = 256;
const CONTROL_OR_FORMAT = /^[\p{Cc}\p{Cf}]$/u;

/**
 * Why `userId` is not a valid user id, or null when it is: the protocol's rule and order, as the Python
 * verifier (pipeline/protocol/userid.py): empty; a lone surrogate; more than 256 bytes of UTF-8; the first
 * NUL, Cc or Cf character; not in Unicode normalisation form NFC.
 */
export function userIdProblem(userId) {
  if (userId === "") return "empty user_id";
  const raw = utf8Strict(userId);
  if (raw === null) return "user_id is not valid Unicode (a lone surrogate)";
  if (raw.length > MAX_USER_ID_BYTES) return `user_id is ${raw.length} bytes of UTF-8, more than ${MAX_USER_ID_BYTES}`;
  for (const ch of userId) {
    if (ch === "\u0000") return "user_id contains a NUL character";
    if (CONTROL_OR_FORMAT.test(ch)) {
      const kind = /^\p{Cc}$/u.test(ch) ? "a control" : "an invisible format";
      return `user_id contains ${kind} character U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
    }
  }
  if (userId.normalize("NFC") !== userId) return "user_id is not in Unicode normalisation form NFC";
  return null;
}

/**
 * How every verifier prints an id (schemas/por-v2.md, "User ids"): in single quotes; ' and \ preceded by \;
 * the other printable ASCII characters as themselves; every other code point as \u{X}, X its upper-case
 * hexadecimal, at least 4 digits. Past 256 code points (never a valid id): the first 256 and "...".
 */
export function displayUserId(userId) {
  const points = Array.from(userId);
  const shown = points.slice(0, MAX_USER_ID_BYTES).map((ch) => {
    if (ch === "'" || ch === "\\") return `\\${ch}`;
    if (ch >= " " && ch <= "~") return ch;
    return `\\u{${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}}`;
  });
  return `'${shown.join("")}'${points.length > MAX_USER_ID_BYTES ? "..." : ""}`;
}

function verifyV2(proof, manifest, announced, onCheck, expectedUser) {
  onCheck("version");
  const period = field(proof, "period", "string", "format", "proof");
  if (!PERIOD.test(period)) fail("period", `proof period '${period}' is not YYYY-MM`);
  const assets = assetList(proof.assets, "format", "proof");
  const m = assets.length;
  const tree = field(proof, "tree", "object", "format", "proof");
  const k = field(tree, "bucket_bits", "integer", "format", "proof tree");
  const h = field(tree, "bucket_height", "integer", "format", "proof tree");
  if (!(k >= 0 && k <= MAX_BUCKET_BITS && h >= 0 && h <= MAX_HEIGHT && k + h <= MAX_HEIGHT)) {
    fail("format", `proof tree shape k=${k} h=${h} is outside the protocol's bounds`);
  }
  const { userId, nonce, balances, position, path, siblings, declaredRoot } = leafAndPath(proof, m, expectedUser, onCheck);
  const declaredCommitment = hex32(proof.commitment, "format", "proof commitment");
  onCheck("format");

  let expectedHash = null, expectedSums = null, expectedCommitment;
  if (manifest !== null) {
    checkManifest(manifest);
    if (manifest.version !== VERSION_V2) fail("version", `a ${VERSION_V2} proof against a ${manifest.version} manifest`);
    if (period !== manifest.period) fail("period", `proof is for '${period}', manifest for '${manifest.period}'`);
    onCheck("period");
    const published = manifest.assets.map((a) => [a.symbol, a.decimals]);
    if (published.length !== assets.length || published.some(([s, d], i) => s !== assets[i][0] || d !== assets[i][1])) {
      fail("assets", `proof assets ${JSON.stringify(assets)} differ from the manifest's ${JSON.stringify(published)}`);
    }
    onCheck("assets");
    if (k !== manifest.tree.bucket_bits || h !== manifest.tree.bucket_height) {
      fail("shape", `proof shape k=${k} h=${h} differs from the manifest's k=${manifest.tree.bucket_bits} h=${manifest.tree.bucket_height}`);
    }
    onCheck("shape");
    [expectedHash, expectedSums] = node(manifest.root, m, "manifest root", null);
    expectedCommitment = manifestCommitment(manifest);
  } else {
    expectedCommitment = hex32(announced, "format", "announced value");
  }
  if (path.length !== k + h) fail("path-length", `path has ${path.length} entries, tree height is ${k + h}`);
  onCheck("path-length");
  const pos = BigInt(position);
  if (pos < 0n || pos >= 1n << BigInt(k + h)) fail("position", `position ${position} is outside [0, 2^${k + h})`);
  const uk = userKey(nonce, period, userId);
  if (bucketOf(uk, k) !== pos >> BigInt(h)) {
    fail("position", `position ${position} is in bucket ${pos >> BigInt(h)}, the user key is in bucket ${bucketOf(uk, k)}`);
  }
  onCheck("position");
  const [currentHash, currentSums] = fold(uk, balances, siblings, pos);
  onCheck("sums");
  if (manifest !== null) {
    if (bytesToHex(currentHash) !== bytesToHex(expectedHash)) {
      fail("root-hash", `path folds to ${bytesToHex(currentHash)}, published root is ${bytesToHex(expectedHash)}`);
    }
    onCheck("root-hash");
    if (currentSums.some((s, i) => s !== expectedSums[i])) fail("root-sums", "path sums differ from the published root sums");
    onCheck("root-sums");
  }
  const got = commitment(period, assets, k, h, currentHash, currentSums);
  if (bytesToHex(got) !== bytesToHex(expectedCommitment)) {
    fail("commitment", `the proof's labels, decimals, shape and path give ${bytesToHex(got)}, the announced value is ${bytesToHex(expectedCommitment)}`);
  }
  onCheck("commitment");
  if (bytesToHex(declaredRoot[0]) !== bytesToHex(currentHash) || declaredRoot[1].some((s, i) => s !== currentSums[i])
      || bytesToHex(declaredCommitment) !== bytesToHex(got)) {
    fail("proof-root", "the proof's own root or commitment field differs from what its path folds to");
  }
  onCheck("proof-root");
  return { version: VERSION_V2, period, userId, assets: assets.map(([s]) => s), decimals: assets.map(([, d]) => d),
    balances, rootHash: bytesToHex(currentHash), rootSums: currentSums, commitment: bytesToHex(got) };
}

/** `value` smallest units as whole units with exactly `decimals` fractional digits. */
export function toUnits(value, decimals) {
  if (decimals === 0) return value.toString();
  const scale = 10n ** BigInt(decimals);
  return `${value / scale}.${(value % scale).toString().padStart(decimals, "0")}`;
}

// ---------------------------------------------------------------------------- por-v3

export const VERSION_V3 = "por-v3";
const NODE_KEY_CONTEXT_V3 = "por-v3 node key";
/** ``K_node = D("por-v3 node key", "")``: a public constant (schemas/por-v3.md, section 3). */
export const NODE_KEY_V3 = blake3DeriveKey(NODE_KEY_CONTEXT_V3, new Uint8Array(0));
const MIN_FRAGMENTS = 2, MAX_FRAGMENTS = 8, MAX_PADDING = 100, MAX_HOLDINGS = 255;
const POSITION_LIMIT = 1n << 53n;

/** por-v3: ``fk[j,i] = Hk(uk, 0x00 ‖ lp(symbol_j) ‖ u8(i))``. */
export const fragmentKey = (uk, symbol, index) => blake3Keyed(uk, concat(Uint8Array.of(0), lp(symbol), Uint8Array.of(index)));
/** por-v3: a leaf, ``Hk(key, u128be(equity) ‖ u128be(debt))``. */
export const leafHashV3 = (key, equity, debt) => blake3Keyed(key, concat(u128be(equity), u128be(debt)));
/** por-v3: a node, ``Hk(K_node, h_L ‖ u128be(e_L) ‖ u128be(d_L) ‖ h_R ‖ u128be(e_R) ‖ u128be(d_R))``. */
export const nodeHashV3 = (lh, [le, ld], rh, [re, rd]) => blake3Keyed(NODE_KEY_V3,
  concat(lh, u128be(le), u128be(ld), rh, u128be(re), u128be(rd)));

/** por-v3's announced value C (schemas/por-v3.md, section 6): `parameters` [s, p], `assets` [[symbol,
 * decimals]], `trees` [{k, h, hash, equity, debt}] in asset order. */
export function commitmentV3(period, [s, p], assets, trees) {
  const parts = [Uint8Array.of(4), lp(VERSION_V3), lp(period), Uint8Array.of(s), Uint8Array.of(p),
    Uint8Array.of(assets.length)];
  assets.forEach(([symbol, decimals], j) => {
    const t = trees[j];
    parts.push(lp(symbol), Uint8Array.of(decimals), Uint8Array.of(t.k), Uint8Array.of(t.h), t.hash,
      u128be(t.equity), u128be(t.debt));
  });
  return blake3(concat(...parts));
}

/** One canonical amount below 2^128 (check `number`). */
function amount(value, what, level = null) {
  if (typeof value !== "string") fail("number", `${what}: amount must be a decimal string`, level);
  if (!CANONICAL.test(value)) fail("number", `${what}: amount '${value}' is not a canonical non-negative decimal integer`, level);
  const n = BigInt(value);
  if (n >= U128) fail("number", `${what}: amount ${value} is not below 2^128`, level);
  return n;
}

/** por-v3's `{hash, equity, debt}`. */
function nodeV3(obj, what, level = null) {
  if (!isObject(obj)) fail("format", `${what} must be an object with hash, equity and debt`, level);
  return { hash: hex32(obj.hash, "format", `${what}.hash`, level), equity: amount(obj.equity, `${what}.equity`, level),
    debt: amount(obj.debt, `${what}.debt`, level) };
}

function parametersOf(obj, check, what) {
  const params = field(obj, "parameters", "object", check, what);
  const s = field(params, "fragments", "integer", check, `${what} parameters`);
  const p = field(params, "padding", "integer", check, `${what} parameters`);
  if (s < MIN_FRAGMENTS || s > MAX_FRAGMENTS) fail(check, `${what} fragments must be in [${MIN_FRAGMENTS}, ${MAX_FRAGMENTS}], got ${s}`);
  if (p < 0 || p > MAX_PADDING) fail(check, `${what} padding must be in [0, ${MAX_PADDING}], got ${p}`);
  return [s, p];
}

function shapeOf(tree, check, what) {
  const k = field(tree, "bucket_bits", "integer", check, what);
  const h = field(tree, "bucket_height", "integer", check, what);
  if (!(k >= 0 && k <= MAX_BUCKET_BITS && h >= 0 && h <= MAX_HEIGHT && k + h <= MAX_HEIGHT)) {
    fail(check, `${what} shape k=${k} h=${h} is outside the protocol's bounds`);
  }
  return [k, h];
}

/** The por-v3 proof's fields, read and checked (schemas/por-v3.md section 8, step 2; `user-id` as soon as the
 * id is read). */
function readProofV3(proof, expectedUser, onCheck) {
  const period = field(proof, "period", "string", "format", "proof");
  if (!PERIOD.test(period)) fail("period", `proof period '${period}' is not YYYY-MM`);
  const assets = assetList(proof.assets, "format", "proof");
  const parameters = parametersOf(proof, "format", "proof");
  const treeDocs = field(proof, "trees", "array", "format", "proof");
  if (treeDocs.length !== assets.length) fail("format", `proof has ${treeDocs.length} trees for ${assets.length} assets`);
  const trees = treeDocs.map((t, j) => {
    const what = `proof trees[${j}]`;
    if (!isObject(t)) fail("format", `${what} must be an object`);
    const [k, h] = shapeOf(t, "format", what);
    return { k, h, ...nodeV3(t.root, `${what}.root`) };
  });
  const userId = field(proof, "user_id", "string", "format", "proof");
  const problem = userIdProblem(userId);
  if (problem !== null) fail("format", `${problem}: ${displayUserId(userId)}`);
  checkUser(userId, expectedUser);
  if (expectedUser !== null) onCheck("user-id");
  const nonce = hex32(proof.nonce, "format", "nonce");
  const holdingDocs = field(proof, "holdings", "array", "format", "proof");
  if (holdingDocs.length > MAX_HOLDINGS) fail("format", `proof has ${holdingDocs.length} holdings, at most ${MAX_HOLDINGS}`);
  const holdings = holdingDocs.map((hd, n) => {
    const what = `holdings[${n}]`;
    if (!isObject(hd)) fail("format", `${what} must be an object`);
    const asset = field(hd, "asset", "string", "format", what);
    const equity = amount(hd.equity, `${what}.equity`);
    const debt = amount(hd.debt, `${what}.debt`);
    const fragmentDocs = field(hd, "fragments", "array", "format", what);
    if (fragmentDocs.length > MAX_FRAGMENTS) fail("format", `${what} has ${fragmentDocs.length} fragments, at most ${MAX_FRAGMENTS}`);
    const fragments = fragmentDocs.map((fd, i) => {
      const fw = `${what}.fragments[${i}]`;
      if (!isObject(fd)) fail("format", `${fw} must be an object`);
      const fe = amount(fd.equity, `${fw}.equity`);
      const fdebt = amount(fd.debt, `${fw}.debt`);
      const position = field(fd, "position", "integer", "format", fw);
      if (position < 0) fail("format", `${fw} position ${position} is negative`);
      const path = field(fd, "path", "array", "format", fw);
      if (path.length > MAX_HEIGHT) fail("path-length", `${fw} path has ${path.length} entries, at most ${MAX_HEIGHT}`);
      const siblings = path.map((entry, level) => nodeV3(entry, `${fw}.path[${level}]`, level));
      return { equity: fe, debt: fdebt, position, siblings };
    });
    return { asset, equity, debt, fragments };
  });
  const declaredCommitment = hex32(proof.commitment, "format", "proof commitment");
  return { period, assets, parameters, trees, userId, nonce, holdings, declaredCommitment };
}

/** Structural checks on a por-v3 manifest, and its commitment recomputed from its own fields (check `manifest`).
 * Returns its period, assets, parameters and trees. */
export function checkManifestV3(manifest) {
  const what = "manifest";
  field(manifest, "version", "string", "manifest", what);
  const period = field(manifest, "period", "string", "manifest", what);
  if (!PERIOD.test(period)) fail("manifest", `manifest period '${period}' is not YYYY-MM`);
  if (manifest.hash !== "blake3") fail("manifest", "manifest hash must be 'blake3'");
  const assets = assetList(manifest.assets, "manifest", what);
  const parameters = parametersOf(manifest, "manifest", what);
  const treeDocs = field(manifest, "trees", "array", "manifest", what);
  if (treeDocs.length !== assets.length) fail("manifest", `manifest has ${treeDocs.length} trees for ${assets.length} assets`);
  const trees = treeDocs.map((t, j) => {
    const tw = `manifest trees[${j}]`;
    if (!isObject(t)) fail("manifest", `${tw} must be an object`);
    const asset = field(t, "asset", "string", "manifest", tw);
    if (asset !== assets[j][0]) fail("manifest", `${tw} is for '${asset}', not for '${assets[j][0]}'`);
    const [k, h] = shapeOf(t, "manifest", tw);
    const height = field(t, "height", "integer", "manifest", tw);
    if (height !== k + h) fail("manifest", `inconsistent tree shape k=${k} h=${h} T=${height}`);
    if (!isObject(t.root)) fail("manifest", `${tw}.root must be an object with hash, equity and debt`);
    const root = { hash: hex32(t.root.hash, "manifest", `${tw}.root.hash`) };
    for (const key of ["equity", "debt"]) {
      const v = t.root[key];
      if (typeof v !== "string" || !CANONICAL.test(v) || BigInt(v) >= U128) {
        fail("manifest", `${tw}.root.${key} is not a canonical amount below 2^128`);
      }
      root[key] = BigInt(v);
    }
    return { k, h, ...root };
  });
  field(manifest, "files", "object", "manifest", what);
  const stored = hex32(manifest.commitment, "manifest", "manifest commitment");
  const recomputed = commitmentV3(period, parameters, assets, trees);
  if (bytesToHex(stored) !== bytesToHex(recomputed)) {
    fail("manifest", `the manifest's commitment ${bytesToHex(stored)} is not the value of its own fields (${bytesToHex(recomputed)})`);
  }
  return { period, assets, parameters, trees, commitment: recomputed };
}

const sameBytes = (a, b) => bytesToHex(a) === bytesToHex(b);

function verifyV3(proof, manifest, announced, onCheck, expectedUser) {
  onCheck("version");
  const p = readProofV3(proof, expectedUser, onCheck);
  onCheck("format");
  const { period, assets, parameters, trees, userId, nonce, holdings } = p;
  const [s] = parameters;

  let published = null, expectedCommitment;
  if (manifest !== null) {
    if (!isObject(manifest)) fail("manifest", "manifest must be a JSON object");
    const version = field(manifest, "version", "string", "manifest", "manifest");
    if (version === VERSION || version === VERSION_V2) {
      checkManifest(manifest);
      fail("version", `a ${VERSION_V3} proof against a ${version} manifest`);
    }
    if (version !== VERSION_V3) fail("manifest", `unsupported manifest version '${version}'`);
    published = checkManifestV3(manifest);
    if (period !== published.period) fail("period", `proof is for '${period}', manifest for '${published.period}'`);
    onCheck("period");
    if (published.assets.length !== assets.length
        || published.assets.some(([sym, d], j) => sym !== assets[j][0] || d !== assets[j][1])) {
      fail("assets", `proof assets ${JSON.stringify(assets)} differ from the manifest's ${JSON.stringify(published.assets)}`);
    }
    onCheck("assets");
    if (published.parameters.some((v, i) => v !== parameters[i])) {
      fail("parameters", `proof parameters ${JSON.stringify(parameters)} differ from the manifest's ${JSON.stringify(published.parameters)}`);
    }
    onCheck("parameters");
    trees.forEach((t, j) => {
      const m = published.trees[j];
      if (t.k !== m.k || t.h !== m.h) {
        fail("shape", `proof shape of '${assets[j][0]}' k=${t.k} h=${t.h} differs from the manifest's k=${m.k} h=${m.h}`);
      }
    });
    onCheck("shape");
    expectedCommitment = published.commitment;
  } else {
    expectedCommitment = hex32(announced, "format", "announced value");
  }

  const indexOf = new Map(assets.map(([sym], j) => [sym, j]));
  let last = -1;
  const held = holdings.map((hd, n) => {
    const j = indexOf.get(hd.asset);
    if (j === undefined) fail("holdings", `holdings[${n}] is for '${hd.asset}', which is not one of the assets`);
    if (j <= last) fail("holdings", `holdings[${n}] ('${hd.asset}') is not in asset order, or is listed twice`);
    last = j;
    if (hd.equity === 0n && hd.debt === 0n) fail("holdings", `holdings[${n}] ('${hd.asset}') is zero equity and zero debt`);
    return j;
  });
  onCheck("holdings");
  holdings.forEach((hd, n) => {
    if (hd.fragments.length !== s) fail("fragments", `holdings[${n}] ('${hd.asset}') has ${hd.fragments.length} fragments, not ${s}`);
    const positions = new Set(hd.fragments.map((f) => f.position));
    if (positions.size !== s) fail("fragments", `holdings[${n}] ('${hd.asset}') has two fragments at one position`);
  });
  onCheck("fragments");
  holdings.forEach((hd, n) => {
    for (const [key, label] of [["equity", "equity"], ["debt", "debt"]]) {
      const total = hd.fragments.reduce((acc, f) => acc + f[key], 0n);
      if (total >= U128) fail("sum-overflow", `holdings[${n}] ('${hd.asset}'): the fragments' ${label} reaches 2^128 (${total})`);
      if (total !== hd[key]) {
        fail("holding-sum", `holdings[${n}] ('${hd.asset}'): ${label} ${hd[key]} is not the sum of its fragments' ${label} (${total})`);
      }
    }
  });
  onCheck("holding-sum");

  const uk = userKey(nonce, period, userId);
  const folded = new Map();  // asset index -> the root its first fragment folded to
  holdings.forEach((hd, n) => {
    const j = held[n];
    const { k, h } = trees[j];
    const symbol = assets[j][0];
    hd.fragments.forEach((f, i) => {
      const fw = `holdings[${n}].fragments[${i}]`;
      if (f.siblings.length !== k + h) fail("path-length", `${fw} path has ${f.siblings.length} entries, tree height is ${k + h}`);
      const pos = BigInt(f.position);
      if (pos >= 1n << BigInt(k + h)) fail("position", `${fw} position ${f.position} is outside [0, 2^${k + h})`);
      const fk = fragmentKey(uk, symbol, i);
      if (bucketOf(fk, k) !== pos >> BigInt(h)) {
        fail("position", `${fw} position ${f.position} is in bucket ${pos >> BigInt(h)}, the fragment key is in bucket ${bucketOf(fk, k)}`);
      }
      let hash = leafHashV3(fk, f.equity, f.debt);
      let sums = [f.equity, f.debt];
      f.siblings.forEach((sib, level) => {
        const left = ((pos >> BigInt(level)) & 1n) === 0n;
        const sibSums = [sib.equity, sib.debt];
        const [lh, ls, rh, rs] = left ? [hash, sums, sib.hash, sibSums] : [sib.hash, sibSums, hash, sums];
        const next = [ls[0] + rs[0], ls[1] + rs[1]];
        next.forEach((v, t) => {
          if (v >= U128) fail("sum-overflow", `${fw}: the ${t === 0 ? "equity" : "debt"} sum reaches 2^128 (${v})`, level);
        });
        hash = nodeHashV3(lh, ls, rh, rs);
        sums = next;
      });
      const expected = published !== null ? published.trees[j] : folded.get(j);
      if (expected !== undefined) {
        if (!sameBytes(hash, expected.hash)) {
          fail("root-hash", `${fw} folds to ${bytesToHex(hash)}, the root of '${symbol}' is ${bytesToHex(expected.hash)}`);
        }
        if (sums[0] !== expected.equity || sums[1] !== expected.debt) {
          fail("root-sums", `${fw} folds to equity ${sums[0]} and debt ${sums[1]}, the root of '${symbol}' has ${expected.equity} and ${expected.debt}`);
        }
      }
      if (!folded.has(j)) folded.set(j, { hash, equity: sums[0], debt: sums[1] });
    });
  });
  onCheck("position");
  onCheck("sums");
  onCheck("root-hash");
  onCheck("root-sums");

  const roots = trees.map((t, j) => (folded.has(j) ? { k: t.k, h: t.h, ...folded.get(j) } : t));
  const got = commitmentV3(period, parameters, assets, roots);
  if (!sameBytes(got, expectedCommitment)) {
    fail("commitment", `the proof's period, parameters, assets, shapes and roots give ${bytesToHex(got)}, the announced value is ${bytesToHex(expectedCommitment)}`);
  }
  onCheck("commitment");
  for (const [j, r] of folded) {
    const t = trees[j];
    if (!sameBytes(t.hash, r.hash) || t.equity !== r.equity || t.debt !== r.debt) {
      fail("proof-root", `the proof's own root of '${assets[j][0]}' differs from what its fragments fold to`);
    }
  }
  if (!sameBytes(p.declaredCommitment, got)) fail("proof-root", "the proof's own commitment differs from the one computed");
  onCheck("proof-root");

  const byAsset = new Map(holdings.map((hd, n) => [held[n], hd]));
  return {
    version: VERSION_V3, period, userId, assets: assets.map(([sym]) => sym), decimals: assets.map(([, d]) => d),
    parameters: { fragments: parameters[0], padding: parameters[1] },
    equity: assets.map((_, j) => byAsset.get(j)?.equity ?? 0n), debt: assets.map((_, j) => byAsset.get(j)?.debt ?? 0n),
    held: assets.map((_, j) => byAsset.has(j)),
    roots: roots.map((r) => ({ hash: bytesToHex(r.hash), equity: r.equity, debt: r.debt })),
    commitment: bytesToHex(got),
  };
}

/** A signed amount (a net position) in whole units. */
export function toSignedUnits(value, decimals) {
  return value < 0n ? `-${toUnits(-value, decimals)}` : toUnits(value, decimals);
}

/** The lines every verifier prints for a valid por-v3 proof: whose, which month, the announced value, and per
 * asset (every asset, held or not) the user's equity, debt and net position in whole units. */
export function summaryV3(r) {
  const lines = [`VALID proof for user ${displayUserId(r.userId)} in period ${r.period}`,
    `announced value (${r.version}) ${r.commitment}`];
  r.assets.forEach((symbol, j) => {
    const d = r.decimals[j];
    lines.push(`  ${symbol.padEnd(8)} equity ${toUnits(r.equity[j], d)}  debt ${toUnits(r.debt[j], d)}  net `
      + toSignedUnits(r.equity[j] - r.debt[j], d));
  });
  return lines;
}
