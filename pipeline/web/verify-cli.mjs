#!/usr/bin/env node
// node verify-cli.mjs PROOF (MANIFEST [--public-key PEM [--signature FILE]] | --root VALUE) [--user ID] [--exact]:
// exit 0 and a summary when the proof is valid against the published manifest (or the announced value),
// and with --public-key when the manifest carries the exchange's signature; exit 1 and the failing check
// when not, exit 2 on usage errors. Amounts are readable (at most 8 decimals, a cut marked "…"); --exact
// prints every digit. Reads only local files.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  parseDocument, publicKeyFromPem, rootOptionProblem, summaryV2, summaryV3, verifyManifestSignature, verifyProof,
  VerificationError, VERSION_V3,
} from "./verify.mjs";

const USAGE = "usage: node verify-cli.mjs PROOF (MANIFEST [--public-key PEM [--signature FILE]] | --root VALUE) [--user ID] "
  + "[--exact]";

function load(path, what) {
  let raw;
  try {
    raw = readFileSync(path);
  } catch (e) {
    console.error(`error: ${what} ${path}: cannot read (${e.code ?? e.message})`);
    process.exit(1);
  }
  return parseDocument(raw, `${what} ${path}`);  // strict, as the Python verifier reads it
}

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return null;
  const value = args[i + 1];
  args.splice(i, 2);
  return value ?? "";
};
const root = option("--root");
const user = option("--user");
const publicKeyPath = option("--public-key");
const signaturePath = option("--signature");
const exact = args.includes("--exact");
if (exact) args.splice(args.indexOf("--exact"), 1);
const [proofPath, manifestPath] = args;
// an empty value is a usage error (exit 2), as in por verify and python -m pipeline.verify
if (!proofPath || (manifestPath === undefined) === (root === null) || args.length > 2 || root === "" || user === ""
    || manifestPath === "" || signaturePath === ""
    || ((publicKeyPath !== null || signaturePath !== null) && manifestPath === undefined) || publicKeyPath === ""
    || (signaturePath !== null && publicKeyPath === null)) {
  console.error(USAGE);
  process.exit(2);
}
if (root !== null && rootOptionProblem(root) !== null) {  // malformed: a usage error, as in the Python command lines
  console.error(`error: ${rootOptionProblem(root)}`);
  process.exit(2);
}
function readKey(path) {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    console.error(`error: public key ${path}: cannot read (${e.code ?? e.message})`);
    process.exit(1);
  }
}
try {
  // the order of por verify and the page: read the proof, read the manifest, check the signature, verify
  const proof = load(proofPath, "proof");
  const manifest = manifestPath === undefined ? null : load(manifestPath, "manifest");
  let signer = null;
  if (publicKeyPath !== null) {
    const key = publicKeyFromPem(readKey(publicKeyPath));
    const signature = load(signaturePath ?? join(dirname(manifestPath), "signature.json"), "signature");
    await verifyManifestSignature(manifest, signature, key);
    signer = signature.key_id;
  }
  const r = verifyProof(proof, manifest, root, () => {}, user);
  console.log((r.version === VERSION_V3 ? summaryV3(r, exact) : summaryV2(r, exact)).join("\n"));
  if (signer !== null) console.log(`manifest signature: valid (Ed25519, key id ${signer})`);
} catch (e) {
  if (!(e instanceof VerificationError)) throw e;
  console.error(`INVALID proof: ${e.message}`);
  process.exit(1);
}
