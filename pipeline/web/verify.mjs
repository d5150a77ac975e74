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
const VERSIONS = [VERSION, VERSION_V2, "por-v3"];
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

/** Structural checks on a published manifest; for por-v2 and por-v3, its commitment must be its fields' value. */
export function checkManifest(manifest) {
  const version = field(manifest, "version", "string", "manifest", "manifest");
  if (!VERSIONS.includes(version)) fail("manifest", `unsupported manifest version '${version}'`);
  if (version === VERSION_V3) {  // por-v3: per-asset trees, every field exactly
    checkManifestV3(manifest);
    return;
  }
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

/** `value` smallest units as whole units with exactly `decimals` fractional digits (every digit: `--exact`). */
export function toUnits(value, decimals) {
  if (decimals === 0) return value.toString();
  const scale = 10n ** BigInt(decimals);
  return `${value / scale}.${(value % scale).toString().padStart(decimals, "0")}`;
}

/** At most this many decimals are shown by `readableUnits`; `CUT` marks a figure whose further decimals were cut. */
export const MAX_SHOWN_DECIMALS = 8;
export const CUT = "\u2026";

/** The one rule for people (Python's `protocol.amounts.readable_units`, both tested against
 * tests/readable-amounts.json): thousands grouped with commas, trailing zeros of the fraction trimmed, at
 * most `MAX_SHOWN_DECIMALS` decimals, the rest cut toward zero (never overstated) and marked with `CUT`; a negative
 * value (a net position) with a minus sign. */
export function readableUnits(value, decimals) {
  if (value < 0n) return "-" + readableUnits(-value, decimals);
  const scale = 10n ** BigInt(decimals);
  const text = (value / scale).toString().replace(/\B(?=(\d{3})+$)/g, ",");
  const frac = value % scale;
  if (frac === 0n) return text;
  const digits = frac.toString().padStart(decimals, "0").replace(/0+$/, "");
  return digits.length > MAX_SHOWN_DECIMALS ? `${text}.${digits.slice(0, MAX_SHOWN_DECIMALS)}${CUT}` : `${text}.${digits}`;
}

/** An amount as the command lines show it: readable, or (`exact`) every digit; signed either way. */
export const shownUnits = (value, decimals, exact = false) => (exact ? toSignedUnits(value, decimals)
  : readableUnits(value, decimals));
export const isCut = (shown) => shown.endsWith(CUT);
/** The command lines' line after amounts of which some were cut (Python's `amounts.CUT_NOTE`). */
export const CUT_NOTE = `${CUT} marks decimals cut (at most ${MAX_SHOWN_DECIMALS} are shown, never rounded up): --exact `
  + "prints every digit.";

/** Printed after a valid por-v1 proof's balances (Python's `verify.V1_LABELS_NOTE`). */
export const V1_LABELS_NOTE = "note: por-v1 does not commit to asset labels or decimals; they come from the manifest and "
  + "are pinned only by its signature (por-v2 pins them in the announced value)";

/** The problem with a `--root` value given on a command line (a usage error, exit 2), or null (Python's
 * `reading.root_option_problem`). */
export function rootOptionProblem(value) {
  if (HEX32.test(value)) return null;
  return "--root takes the announced value (a por-v1 month: the root hash), 64 lowercase hexadecimal characters, "
    + `not ${displayUserId(value)} (${Array.from(value).length} characters)`;
}

/** What a valid por-v1 or por-v2 proof shows, the lines `python -m pipeline.verify` prints (VerifiedProof.summary). */
export function summaryV2(r, exact = false) {
  const lines = [`VALID proof for user ${displayUserId(r.userId)} in period ${r.period}`];
  if (r.commitment !== null) lines.push(`announced value (${r.version}) ${r.commitment}`);
  lines.push(`root ${r.rootHash}`);
  const shown = r.balances.map((b, i) => shownUnits(b, r.decimals === null ? 0 : r.decimals[i], exact));
  r.assets.forEach((symbol, i) => lines.push(`  ${symbol.padEnd(8)} ${shown[i]}${r.decimals === null
    ? " (smallest units)" : ""}`));
  if (shown.some(isCut)) lines.push(CUT_NOTE);
  if (r.version === VERSION) lines.push(V1_LABELS_NOTE);
  return lines;
}

// ---------------------------------------------------------------------------- por-v3
// schemas/por-v3.md section 8, check for check and in the same order as the Python verifier
// (pipeline/protocol/verify_v3.py, whose docstring fixes the order within each step too): every object is read
// with exactly its fields (one missing or one more is the object's check), in the order the Python reader reads.

export const VERSION_V3 = "por-v3";
const NODE_KEY_CONTEXT_V3 = "por-v3 node key";
/** ``K_node = D("por-v3 node key", "")``: a public constant (schemas/por-v3.md, section 3). */
export const NODE_KEY_V3 = blake3DeriveKey(NODE_KEY_CONTEXT_V3, new Uint8Array(0));
const MIN_FRAGMENTS = 2, MAX_FRAGMENTS = 8, MAX_PADDING = 100, MAX_HOLDINGS = 255, MAX_SYMBOL_BYTES = 32;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

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

const PROOF_FIELDS = ["version", "period", "assets", "parameters", "trees", "user_id", "nonce", "holdings", "commitment"];
const MANIFEST_FIELDS = ["version", "period", "hash", "assets", "parameters", "trees", "files", "commitment"];
/** Added by `por publish` (the archive chain, schemas/archive.md): not part of C, not read here. */
const MANIFEST_PUBLICATION_FIELDS = ["previous", "publication"];
const ASSET_FIELDS = ["symbol", "decimals"];
const PARAMETER_FIELDS = ["fragments", "padding"];
const PROOF_TREE_FIELDS = ["bucket_bits", "bucket_height", "root"];
const MANIFEST_TREE_FIELDS = ["asset", "bucket_bits", "bucket_height", "height", "root"];
const NODE_FIELDS = ["hash", "equity", "debt"];
const HOLDING_FIELDS = ["asset", "equity", "debt", "fragments"];
const FRAGMENT_FIELDS = ["equity", "debt", "position", "path"];
const quoted = (names) => names.map((n) => `'${n}'`).join(", ");

/** An object with exactly `fields` and any of `optional` (its own keys: a document's "constructor" or "__proto__"
 * is a field like any). */
function exactly(obj, fields, check, what, level = null, optional = []) {
  if (!isObject(obj)) fail(check, `${what} must be an object with the fields ${quoted([...fields].sort())}`, level);
  const keys = Object.keys(obj);
  const missing = fields.filter((f) => !keys.includes(f)).sort();
  const extra = keys.filter((k) => !fields.includes(k) && !optional.includes(k)).sort();
  if (missing.length || extra.length) {
    const parts = [...(missing.length ? [`no field ${quoted(missing)}`] : []),
      ...(extra.length ? [`unknown field ${quoted(extra)}`] : [])];
    fail(check, `${what}: ${parts.join("; ")}`, level);
  }
  return obj;
}

const shown = (v) => (typeof v === "string" ? `'${v}'` : typeof v === "bigint" ? v.toString()
  : v === null ? "None" : Array.isArray(v) ? "a list" : typeof v === "object" ? "an object" : String(v));

/** An integer (never a boolean) in [lo, hi] (hi at most 2^53 - 1: a BigInt from the reader is never in range). */
function integer(value, lo, hi, check, what, level = null) {
  if (!Number.isSafeInteger(value) || value < lo || value > hi) {
    fail(check, `${what} must be an integer in [${lo}, ${hi}], got ${shown(value)}`, level);
  }
  return value;
}

function string(value, check, what) {
  if (typeof value !== "string") fail(check, `${what} must be a string`);
  return value;
}

function list(value, check, what, level = null) {
  if (!Array.isArray(value)) fail(check, `${what} must be a list`, level);
  return value;
}

/** One canonical decimal amount below 2^128. */
function amount(value, check, what, level = null) {
  if (typeof value !== "string") fail(check, `${what}: amount must be a decimal string`, level);
  if (!CANONICAL.test(value)) fail(check, `${what}: amount '${value}' is not a canonical non-negative decimal integer`, level);
  const n = BigInt(value);
  if (n >= U128) fail(check, `${what}: amount ${value} is not below 2^128`, level);
  return n;
}

/** por-v3's `{hash, equity, debt}`, read hash, equity, debt. */
function nodeV3(obj, what, level = null, check = "format", number = "number") {
  const n = exactly(obj, NODE_FIELDS, check, what, level);
  return { hash: hex32(n.hash, check, `${what}.hash`, level), equity: amount(n.equity, number, `${what}.equity`, level),
    debt: amount(n.debt, number, `${what}.debt`, level) };
}

/** 1..255 `{symbol, decimals}`: symbols of 1 to 32 bytes, decimals in [0, 38], unique and sorted. */
function assetsV3(value, check, what) {
  const items = list(value, check, `${what} assets`);
  if (items.length < 1 || items.length > MAX_ASSETS) fail(check, `${what} must list 1 to ${MAX_ASSETS} assets, got ${items.length}`);
  const out = items.map((item, n) => {
    const a = exactly(item, ASSET_FIELDS, check, `${what} assets[${n}]`);
    const symbol = string(a.symbol, check, `${what} assets[${n}].symbol`);
    const size = utf8(symbol).length;
    if (size < 1 || size > MAX_SYMBOL_BYTES) fail(check, `${what} symbol '${symbol}' must be 1 to ${MAX_SYMBOL_BYTES} bytes`);
    return [symbol, integer(a.decimals, 0, MAX_DECIMALS, check, `${what} decimals of '${symbol}'`)];
  });
  const symbols = out.map(([s]) => s);
  const sorted = [...symbols].sort((a, b) => compareBytes(utf8(a), utf8(b)));
  if (sorted.some((s, i) => s !== symbols[i]) || new Set(symbols).size !== symbols.length) {
    fail(check, `${what} assets are not unique and sorted by symbol`);
  }
  return out;
}

function parametersV3(value, check, what) {
  const p = exactly(value, PARAMETER_FIELDS, check, `${what} parameters`);
  return [integer(p.fragments, MIN_FRAGMENTS, MAX_FRAGMENTS, check, `${what} parameters.fragments`),
    integer(p.padding, 0, MAX_PADDING, check, `${what} parameters.padding`)];
}

function shapeV3(tree, check, what) {
  const k = integer(tree.bucket_bits, 0, MAX_BUCKET_BITS, check, `${what}.bucket_bits`);
  const h = integer(tree.bucket_height, 0, MAX_HEIGHT, check, `${what}.bucket_height`);
  if (k + h > MAX_HEIGHT) fail(check, `${what}: k + h = ${k + h} is more than ${MAX_HEIGHT}`);
  return [k, h];
}

/** A por-v3 manifest, every field checked (check `manifest`), its commitment recomputed from its fields (`manifest`
 * when the stored one differs). Returns its period, assets, parameters, trees and commitment. */
export function checkManifestV3(manifest) {
  const doc = exactly(manifest, MANIFEST_FIELDS, "manifest", "manifest", null, MANIFEST_PUBLICATION_FIELDS);
  if (doc.version !== VERSION_V3) fail("manifest", `manifest version ${shown(doc.version)} is not ${VERSION_V3}`);
  const period = string(doc.period, "manifest", "manifest period");
  if (!PERIOD.test(period)) fail("manifest", `manifest period '${period}' is not YYYY-MM`);
  if (doc.hash !== "blake3") fail("manifest", `manifest hash ${shown(doc.hash)} is not 'blake3'`);
  const assets = assetsV3(doc.assets, "manifest", "manifest");
  const parameters = parametersV3(doc.parameters, "manifest", "manifest");
  const items = list(doc.trees, "manifest", "manifest trees");
  if (items.length !== assets.length) fail("manifest", `manifest has ${items.length} trees for ${assets.length} assets`);
  const trees = items.map((item, j) => {
    const symbol = assets[j][0];
    const what = `manifest tree of '${symbol}'`;
    const tree = exactly(item, MANIFEST_TREE_FIELDS, "manifest", what);
    if (tree.asset !== symbol) fail("manifest", `${what} is labelled ${shown(tree.asset)}`);
    const [k, h] = shapeV3(tree, "manifest", what);
    if (integer(tree.height, 0, MAX_HEIGHT, "manifest", `${what}.height`) !== k + h) {
      fail("manifest", `${what}: height ${tree.height} is not k + h = ${k + h}`);
    }
    return { k, h, ...nodeV3(tree.root, `${what}.root`, null, "manifest", "manifest") };
  });
  const files = doc.files;
  if (!isObject(files) || Object.keys(files).some((name) => name === "")) {
    fail("manifest", "manifest files must be an object of file names");
  }
  for (const [name, digest] of Object.entries(files)) hex32(digest, "manifest", `manifest digest of '${name}'`);
  const stored = hex32(doc.commitment, "manifest", "manifest commitment");
  const recomputed = commitmentV3(period, parameters, assets, trees);
  if (!sameBytes(stored, recomputed)) {
    fail("manifest", `the manifest's commitment ${bytesToHex(stored)} is not the value of its own fields (${bytesToHex(recomputed)})`);
  }
  return { period, assets, parameters, trees, commitment: stored };
}

function readHoldings(value) {
  const items = list(value, "format", "holdings");
  if (items.length > MAX_HOLDINGS) fail("format", `${items.length} holdings, at most ${MAX_HOLDINGS}`);
  return items.map((item, n) => {
    const what = `holdings[${n}]`;
    const holding = exactly(item, HOLDING_FIELDS, "format", what);
    const asset = string(holding.asset, "format", `${what}.asset`);
    const equity = amount(holding.equity, "number", `${what}.equity`);
    const debt = amount(holding.debt, "number", `${what}.debt`);
    const raw = list(holding.fragments, "format", `${what}.fragments`);
    if (raw.length > MAX_FRAGMENTS) fail("format", `${what} has ${raw.length} fragments, at most ${MAX_FRAGMENTS}`);
    const fragments = raw.map((entry, i) => {
      const where = `${what}.fragments[${i}]`;
      const fragment = exactly(entry, FRAGMENT_FIELDS, "format", where);
      const fEquity = amount(fragment.equity, "number", `${where}.equity`);
      const fDebt = amount(fragment.debt, "number", `${where}.debt`);
      const position = integer(fragment.position, 0, MAX_SAFE, "format", `${where}.position`);
      const path = list(fragment.path, "format", `${where}.path`);
      if (path.length > MAX_HEIGHT) fail("path-length", `${where} path has ${path.length} entries, at most ${MAX_HEIGHT}`);
      const nodes = path.map((node, level) => nodeV3(node, `${where}.path[${level}]`, level));
      return { equity: fEquity, debt: fDebt, position, path: nodes };
    });
    return { asset, equity, debt, fragments };
  });
}

const sameBytes = (a, b) => bytesToHex(a) === bytesToHex(b);
const sameNode = (a, b) => sameBytes(a.hash, b.hash) && a.equity === b.equity && a.debt === b.debt;

function foldV3(key, fragment, what) {
  let current = { hash: leafHashV3(key, fragment.equity, fragment.debt), equity: fragment.equity, debt: fragment.debt };
  const pos = BigInt(fragment.position);
  fragment.path.forEach((sibling, level) => {
    const [l, r] = ((pos >> BigInt(level)) & 1n) === 0n ? [current, sibling] : [sibling, current];
    const equity = l.equity + r.equity, debt = l.debt + r.debt;
    if (equity >= U128) fail("sum-overflow", `${what}: the equity sum reaches 2^128 (${equity})`, level);
    if (debt >= U128) fail("sum-overflow", `${what}: the debt sum reaches 2^128 (${debt})`, level);
    current = { hash: nodeHashV3(l.hash, [l.equity, l.debt], r.hash, [r.equity, r.debt]), equity, debt };
  });
  return current;
}

function sameRoot(got, expected, what, against) {
  if (!sameBytes(got.hash, expected.hash)) {
    fail("root-hash", `${what} folds to ${bytesToHex(got.hash)}, ${against} is ${bytesToHex(expected.hash)}`);
  }
  if (got.equity !== expected.equity || got.debt !== expected.debt) {
    fail("root-sums", `${what} folds to equity ${got.equity} and debt ${got.debt}, ${against} has equity `
      + `${expected.equity} and debt ${expected.debt}`);
  }
}

/** schemas/por-v3.md section 8, in order (the caller dispatched on `version`). */
function verifyV3(proof, manifest, announced, onCheck, expectedUser) {
  onCheck("version");
  // 2. format
  const doc = exactly(proof, PROOF_FIELDS, "format", "proof");
  const period = string(doc.period, "format", "proof period");
  if (!PERIOD.test(period)) fail("period", `proof period '${period}' is not YYYY-MM`);
  const assets = assetsV3(doc.assets, "format", "proof");
  const parameters = parametersV3(doc.parameters, "format", "proof");
  const [s] = parameters;
  const rawTrees = list(doc.trees, "format", "proof trees");
  if (rawTrees.length !== assets.length) fail("format", `proof has ${rawTrees.length} trees for ${assets.length} assets`);
  const trees = rawTrees.map((item, j) => {
    const what = `proof tree of '${assets[j][0]}'`;
    const tree = exactly(item, PROOF_TREE_FIELDS, "format", what);
    const [k, h] = shapeV3(tree, "format", what);
    return { k, h, root: nodeV3(tree.root, `${what}.root`) };
  });
  const userId = string(doc.user_id, "format", "proof user_id");
  const problem = userIdProblem(userId);
  if (problem !== null) fail("format", `${problem}: ${displayUserId(userId)}`);
  const nonce = hex32(doc.nonce, "format", "nonce");
  const holdings = readHoldings(doc.holdings);
  const declaredCommitment = hex32(doc.commitment, "format", "proof commitment");
  onCheck("format");

  // 3. user-id
  checkUser(userId, expectedUser);
  if (expectedUser !== null) onCheck("user-id");

  // 4. the manifest, or the announced value
  let expectedRoots = null, expectedCommitment;
  if (manifest !== null) {
    checkManifest(manifest);
    if (manifest.version !== VERSION_V3) fail("version", `a ${VERSION_V3} proof against a ${manifest.version} manifest`);
    const published = checkManifestV3(manifest);
    if (period !== published.period) fail("period", `proof is for '${period}', manifest for '${published.period}'`);
    onCheck("period");
    if (published.assets.length !== assets.length
        || published.assets.some(([sym, d], j) => sym !== assets[j][0] || d !== assets[j][1])) {
      fail("assets", `proof assets ${JSON.stringify(assets)} differ from the manifest's ${JSON.stringify(published.assets)}`);
    }
    onCheck("assets");
    if (published.parameters.some((v, i) => v !== parameters[i])) {
      fail("parameters", `proof parameters {fragments ${parameters[0]}, padding ${parameters[1]}} differ from the `
        + `manifest's {fragments ${published.parameters[0]}, padding ${published.parameters[1]}}`);
    }
    onCheck("parameters");
    trees.forEach((mine, j) => {
      const theirs = published.trees[j];
      if (mine.k !== theirs.k || mine.h !== theirs.h) {
        fail("shape", `the proof's tree of '${assets[j][0]}' has k=${mine.k} h=${mine.h}, the manifest's k=${theirs.k} h=${theirs.h}`);
      }
    });
    onCheck("shape");
    expectedCommitment = published.commitment;
    expectedRoots = published.trees;
  } else {
    expectedCommitment = hex32(announced, "format", "announced value");
  }

  // 5. holdings
  const index = new Map(assets.map(([sym], j) => [sym, j]));
  const held = [];
  holdings.forEach((holding, n) => {
    if (!index.has(holding.asset)) fail("holdings", `holdings[${n}] names '${holding.asset}', which is not one of the assets`);
    const j = index.get(holding.asset);
    if (held.length && j <= held[held.length - 1]) {
      const again = held.includes(j) ? "repeats" : "comes after";
      fail("holdings", `holdings[${n}] ('${holding.asset}') ${again} '${assets[held[held.length - 1]][0]}': holdings are `
        + "listed once each, in asset order");
    }
    if (holding.equity === 0n && holding.debt === 0n) {
      fail("holdings", `holdings[${n}] ('${holding.asset}') is zero: a zero holding is not listed`);
    }
    held.push(j);
  });
  onCheck("holdings");

  // 6. fragments
  for (const holding of holdings) {
    if (holding.fragments.length !== s) {
      fail("fragments", `the holding of '${holding.asset}' has ${holding.fragments.length} fragments, not ${s}`);
    }
    const positions = holding.fragments.map((f) => f.position);
    if (new Set(positions).size !== positions.length) {
      fail("fragments", `two fragments of '${holding.asset}' share a position (${positions.join(", ")})`);
    }
  }
  onCheck("fragments");

  // 7. holding-sum
  for (const holding of holdings) {
    const totals = ["equity", "debt"].map((name) => {
      const total = holding.fragments.reduce((acc, f) => acc + f[name], 0n);
      if (total >= U128) fail("sum-overflow", `the ${name} of the fragments of '${holding.asset}' sums to 2^128 or more`);
      return total;
    });
    ["equity", "debt"].forEach((name, t) => {
      if (totals[t] !== holding[name]) {
        fail("holding-sum", `the holding of '${holding.asset}' states ${name} ${holding[name]}, its fragments sum to ${totals[t]}`);
      }
    });
  }
  onCheck("holding-sum");

  // 8. each fragment: path length, position, fold
  const uk = userKey(nonce, period, userId);
  const folded = holdings.map((holding, n) => {
    const own = trees[held[n]];
    const height = own.k + own.h;
    return holding.fragments.map((fragment, i) => {
      const what = `fragment ${i} of '${holding.asset}'`;
      if (fragment.path.length !== height) {
        fail("path-length", `${what}: the path has ${fragment.path.length} entries, the tree's height is ${height}`);
      }
      const pos = BigInt(fragment.position);
      if (pos >= 1n << BigInt(height)) fail("position", `${what}: position ${fragment.position} is outside [0, 2^${height})`);
      const key = fragmentKey(uk, holding.asset, i);
      const inBucket = pos >> BigInt(own.h), keyBucket = bucketOf(key, own.k);
      if (inBucket !== keyBucket) {
        fail("position", `${what}: position ${fragment.position} is in bucket ${inBucket}, the fragment's key is in bucket ${keyBucket}`);
      }
      return foldV3(key, fragment, what);
    });
  });
  onCheck("path-length");
  onCheck("position");
  onCheck("sums");

  // 9. root-hash, root-sums
  holdings.forEach((holding, n) => {
    folded[n].forEach((root, i) => {
      const what = `fragment ${i} of '${holding.asset}'`;
      if (expectedRoots !== null) sameRoot(root, expectedRoots[held[n]], what, "the manifest's root");
      else sameRoot(root, folded[n][0], what, "the root its fragment 0 folds to");
    });
  });
  onCheck("root-hash");
  onCheck("root-sums");

  // 10. commitment
  const rootOf = new Map(held.map((j, n) => [j, folded[n][0]]));
  const computed = trees.map((t, j) => ({ k: t.k, h: t.h, ...(rootOf.get(j) ?? t.root) }));
  const got = commitmentV3(period, parameters, assets, computed);
  if (!sameBytes(got, expectedCommitment)) {
    fail("commitment", `the proof's period, parameters, assets, shapes and roots give ${bytesToHex(got)}, the announced `
      + `value is ${bytesToHex(expectedCommitment)}`);
  }
  onCheck("commitment");

  // 11. proof-root
  for (const j of held) {
    if (!sameNode(trees[j].root, rootOf.get(j))) {
      fail("proof-root", `the proof's own root of '${assets[j][0]}' differs from what its fragments fold to`);
    }
  }
  if (!sameBytes(declaredCommitment, got)) fail("proof-root", "the proof's own commitment field differs from the value it gives");
  onCheck("proof-root");

  const amounts = new Map(holdings.map((h) => [h.asset, h]));
  return {
    version: VERSION_V3, period, userId, parameters: { fragments: parameters[0], padding: parameters[1] },
    assets: assets.map(([sym]) => sym), decimals: assets.map(([, d]) => d),
    equity: assets.map(([sym]) => amounts.get(sym)?.equity ?? 0n), debt: assets.map(([sym]) => amounts.get(sym)?.debt ?? 0n),
    held: assets.map(([sym]) => amounts.has(sym)),
    roots: computed.map((r) => ({ hash: bytesToHex(r.hash), equity: r.equity, debt: r.debt })),
    commitment: bytesToHex(got),
  };
}

/** A signed amount (a net position) in whole units, with a minus sign when negative. */
export function toSignedUnits(value, decimals) {
  return (value < 0n ? "-" : "") + toUnits(value < 0n ? -value : value, decimals);
}

const width = (text) => Array.from(text).length;  // code points, as Python's len
const padRight = (text, n) => text + " ".repeat(Math.max(0, n - width(text)));
const padLeft = (text, n) => " ".repeat(Math.max(0, n - width(text))) + text;

/** What a valid por-v3 proof shows, the lines `python -m pipeline.verify` prints (VerifiedProofV3.summary): whose,
 * which month, the announced value, the parameters, and every asset (held or not) with this user's equity, debt and
 * net in whole units. */
export function summaryV3(r, exact = false) {
  const lines = [`VALID proof for user ${displayUserId(r.userId)} in period ${r.period}`,
    `announced value (${r.version}) ${r.commitment}`,
    `parameters: ${r.parameters.fragments} fragments per holding, padding ${r.parameters.padding} %`];
  const rows = [["asset", "equity", "debt", "net"], ...r.assets.map((symbol, j) => [symbol,
    ...[r.equity[j], r.debt[j], r.equity[j] - r.debt[j]].map((v) => shownUnits(v, r.decimals[j], exact))])];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => width(row[i]))));
  for (const row of rows) {
    lines.push(`  ${[padRight(row[0], widths[0]), ...[1, 2, 3].map((i) => padLeft(row[i], widths[i]))].join("  ")}`.trimEnd());
  }
  if (rows.slice(1).some((row) => row.slice(1).some(isCut))) lines.push(CUT_NOTE);
  return lines.concat(notesV3(r));
}

/** The sentences after the table of a valid por-v3 proof's summary (what it shows, the assets not held). */
export function notesV3(r) {
  const lines = ["What this proof shows: this user's equity and debt in each asset above (net = equity - debt, in whole "
    + `units) are counted, in ${r.parameters.fragments} fragments each, in that asset's total equity and total debt, which `
    + "the announced value commits to."];
  const zero = r.assets.filter((_, j) => !r.held[j]);
  if (zero.length === r.assets.length) {
    lines.push("No asset is held: every asset is counted at zero for this user. This proof binds nothing "
      + "to your account: if you hold anything, it is the wrong proof; re-download it, then ask the exchange.");
  } else if (zero.length) lines.push(`Assets not held (${zero.join(", ")}) are counted at zero for this user.`);
  lines.push("What it no longer shows: any other user's balances. Each other number in it is one random "
    + "share of some unnamed user's holding in one asset, or a sum over many users; nothing in it "
    + "tells which assets anybody else holds.");
  lines.push("Compare these amounts with your account.");
  return lines;
}
