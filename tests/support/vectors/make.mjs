// Golden reserve-ownership vectors, signed by each chain family's own SDK from npm (never by the
// project's pipeline/testing/sign.py), written to OUTDIR deterministically.
//
//   node make.mjs OUTDIR TEXTS_JSON
//
// TEXTS_JSON (computed in Python by tests/support/vectors/make.py from
// pipeline.ownership.challenge.challenge_text) is
//   {"exchange", "period", "previous_manifest", "challenge",
//    "other_period": {"period", "previous_manifest", "challenge"}, "sentence"}.
//
// Every key is a test key, derived from its name (sha256 of "por reserve vector key: NAME"); each
// vector lists the keys it used. The expected statuses and reason substrings are the rules of
// schemas/reserves.md, written here by hand: they are not read from the verifier.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { Account, Ed25519PrivateKey } from "@aptos-labs/ts-sdk";
import { getAddressFromPublicKey } from "@solana/addresses";
import { getBase58Decoder, getBase58Encoder } from "@solana/codecs-strings";
import { createKeyPairFromPrivateKeyBytes, signBytes } from "@solana/keys";
import { Signer as Bip322Signer } from "bip322-js";
import * as bitcoin from "bitcoinjs-lib";
import bitcoinMessage from "bitcoinjs-message";
import { ECPairFactory } from "ecpair";
import { Wallet, getBytes, getCreateAddress, keccak256, toUtf8Bytes } from "ethers";
import * as ecc from "tiny-secp256k1";
import { TronWeb, utils as tronUtils } from "tronweb";

const HERE = dirname(fileURLToPath(import.meta.url));
const [outDir, textsJson] = process.argv.slice(2);
if (!outDir || !textsJson) {
  console.error("usage: node make.mjs OUTDIR TEXTS_JSON");
  process.exit(2);
}
const TEXTS = JSON.parse(textsJson);
const CHALLENGE = TEXTS.challenge;
const OTHER = TEXTS.other_period.challenge;
const SENTENCE = TEXTS.sentence;
const ECPair = ECPairFactory(ecc);
bitcoin.initEccLib(ecc);

const version = (pkg) => JSON.parse(readFileSync(join(HERE, "node_modules", pkg, "package.json"), "utf8")).version;
const PACKAGES = Object.fromEntries(Object.keys(JSON.parse(readFileSync(join(HERE, "package.json"), "utf8")).dependencies)
  .map((p) => [p, version(p)]));
const sdk = (pkg, call) => `${pkg} ${PACKAGES[pkg]}: ${call}`;

// ------------------------------------------------------------------ helpers

const keyBytes = (name) => createHash("sha256").update(`por reserve vector key: ${name}`).digest();
const hex = (bytes) => Buffer.from(bytes).toString("hex");

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/** The address with its character at ``at`` replaced by the next one of its alphabet. */
function tamper(address, at = 8) {
  const alphabet = /^(bc|ltc)1/.test(address) ? BECH32 : address.startsWith("0x") ? "0123456789abcdef" : B58;
  const i = alphabet.indexOf(address[at]);
  if (i < 0) throw new Error(`cannot tamper ${address} at ${at}`);
  return address.slice(0, at) + alphabet[(i + 1) % alphabet.length] + address.slice(at + 1);
}

/** ``signature`` (base64 or 0x-hex or hex) with byte ``at`` xor 0x01, in the same encoding. */
function flipBase64(signature, at) {
  const raw = Buffer.from(signature, "base64");
  raw[at] ^= 0x01;
  return raw.toString("base64");
}

function flipHex(signature, at) {
  const prefix = signature.startsWith("0x") ? "0x" : "";
  const raw = Buffer.from(signature.slice(prefix.length), "hex");
  raw[at] ^= 0x01;
  return prefix + raw.toString("hex");
}

function withHeader(signature, header) {
  const raw = Buffer.from(signature, "base64");
  raw[0] = header;
  return raw.toString("base64");
}

const mutation = (name, change, status, reason) => ({ name, change, status, reason });

function vector({ name, chain, address, signatures, message, script = null, owners = [], keys, signedWith, status,
                  reason, note = "", mutations = [] }) {
  return { name, chain, address, signatures, message, script, owners, private_keys: keys.map(hex),
           signed_with: signedWith, status, reason, note, mutations };
}

/** The vector over the challenge, and its twin over the fixed sentence (unbound: replayable). */
function pair(make) {
  const bound = make(CHALLENGE, "");
  const sentence = make(SENTENCE, "-sentence");
  sentence.status = "unbound";
  sentence.reason = sentence.owners.length ? "not confirmed on chain" : "replayable";
  sentence.mutations = [
    mutation("message-omitted", { message: null }, "invalid", sentence.mutations_when_omitted),
    mutation("message-is-the-challenge", { message: CHALLENGE }, "invalid", sentence.mutations_when_omitted),
  ];
  delete sentence.mutations_when_omitted;
  delete bound.mutations_when_omitted;
  return [bound, sentence];
}

// ------------------------------------------------------------------ Bitcoin family (bitcoinjs-message)

const NETWORKS = {
  // bitcoinjs-lib's own; the others spelled from each chain's source (its chainparams and the
  // signmessage magic string): base58 versions, bech32 HRP, the message prefix with its length byte.
  // Dogecoin and Dash have no segwit: their bech32 field only fills bitcoinjs-lib's network shape and
  // no vector uses it.
  bitcoin: bitcoin.networks.bitcoin,
  litecoin: { messagePrefix: "\x19Litecoin Signed Message:\n", bech32: "ltc", bip32: { public: 0x019da462, private: 0x019d9cfe },
              pubKeyHash: 0x30, scriptHash: 0x32, wif: 0xb0 },
  dogecoin: { messagePrefix: "\x19Dogecoin Signed Message:\n", bech32: "doge", bip32: { public: 0x02facafd, private: 0x02fac398 },
              pubKeyHash: 0x1e, scriptHash: 0x16, wif: 0x9e },
  dash: { messagePrefix: "\x19DarkCoin Signed Message:\n", bech32: "dash", bip32: { public: 0x0488b21e, private: 0x0488ade4 },
          pubKeyHash: 0x4c, scriptHash: 0x10, wif: 0xcc },
  "bitcoin-cash": bitcoin.networks.bitcoin,  // legacy addresses; Bitcoin Cash Node signs "Bitcoin Signed Message:\n"
};

const KINDS = {
  // what BIP-137 proves for each: the address type its header names (schemas/reserves.md)
  "p2pkh-compressed": { compressed: true, segwit: undefined, proven: "p2pkh" },
  "p2pkh-uncompressed": { compressed: false, segwit: undefined, proven: "p2pkh" },
  "p2sh-p2wpkh": { compressed: true, segwit: "p2sh(p2wpkh)", proven: "p2sh" },
  p2wpkh: { compressed: true, segwit: "p2wpkh", proven: "p2wpkh" },
};

function btcAddress(chain, kind, key) {
  const network = NETWORKS[chain];
  const pubkey = Buffer.from(ECPair.fromPrivateKey(key, { compressed: KINDS[kind].compressed }).publicKey);
  if (kind.startsWith("p2pkh")) return bitcoin.payments.p2pkh({ pubkey, network }).address;
  if (kind === "p2wpkh") return bitcoin.payments.p2wpkh({ pubkey, network }).address;
  return bitcoin.payments.p2sh({ redeem: bitcoin.payments.p2wpkh({ pubkey, network }), network }).address;
}

function btcSign(chain, kind, key, message) {
  const { compressed, segwit } = KINDS[kind];
  return bitcoinMessage.sign(message, key, compressed, NETWORKS[chain].messagePrefix,
                             segwit ? { segwitType: segwit } : undefined).toString("base64");
}

const btcCall = (chain, kind) => sdk("bitcoinjs-message", `sign(message, key, compressed=${KINDS[kind].compressed}, `
  + `${JSON.stringify(NETWORKS[chain].messagePrefix)}${KINDS[kind].segwit ? `, {segwitType: "${KINDS[kind].segwit}"}` : ""})`);

// another chain of the family on which the same key has an address of the same kind
const NEIGHBOUR = { bitcoin: "litecoin", litecoin: "bitcoin", dogecoin: "bitcoin", dash: "dogecoin", "bitcoin-cash": "dogecoin" };

function bitcoinSingle(chain, kind) {
  const name = `${chain}-${kind}`;
  const key = keyBytes(name);
  const other = keyBytes(`${name} other`);
  const address = btcAddress(chain, kind, key);
  const bech = kind === "p2wpkh";
  const neighbour = NEIGHBOUR[chain];
  const make = (message, suffix) => {
    const signature = btcSign(chain, kind, key, message);
    const v = vector({ name: name + suffix, chain, address, signatures: [signature], message, keys: [key],
                       signedWith: btcCall(chain, kind), status: "bound", reason: `${KINDS[kind].proven} signmessage` });
    v.mutations_when_omitted = "does not give this address";
    if (suffix) return v;
    const sig = signature;
    const m = [
      mutation("wrong-key", { signatures: [btcSign(chain, kind, other, message)] }, "invalid", "does not give this address"),
      mutation("other-period-text", { message: OTHER }, "invalid", "does not give this address"),
      mutation("other-period-signed", { message: OTHER, signatures: [btcSign(chain, kind, key, OTHER)] }, "unbound", "replayable"),
      mutation("flipped-signature-byte", { signatures: [flipBase64(sig, 40)] }, "invalid", "does not give this address"),
      mutation("tampered-address", { address: tamper(address) }, "invalid",
               bech ? "bech32/bech32m checksum" : "(base58check)"),
      mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
      mutation("two-signatures", { signatures: [sig, sig] }, "invalid", "takes one signature, not 2"),
      mutation("address-surrounding-space", { address: ` ${address}` }, "invalid", "surrounding spaces"),
      mutation("chain-upper-case", { chain: chain.toUpperCase() }, "bound", "signmessage"),
      mutation("header-out-of-range", { signatures: [withHeader(sig, 43)] }, "invalid", "outside BIP-137's 27..42"),
    ];
    const neighbourAddress = NETWORKS[neighbour].bech32 && bech || !bech ? btcAddress(neighbour, kind, key) : null;
    if (neighbourAddress && NETWORKS[neighbour].pubKeyHash !== NETWORKS[chain].pubKeyHash) {
      m.push(mutation("wrong-network-address", { address: neighbourAddress }, "invalid",
                      bech ? `not a valid ${chain} address` : `is not a ${chain} mainnet address`));
      m.push(mutation("wrong-network-prefix", { chain: neighbour, address: neighbourAddress }, "invalid",
                      "does not give this address"));
    }
    if (kind === "p2pkh-compressed") {
      m.push(mutation("header-names-p2sh-p2wpkh", { signatures: [withHeader(sig, Buffer.from(sig, "base64")[0] + 4)] },
                      "invalid", "signs for a p2sh address, but the address is p2pkh"));
      m.push(mutation("uncompressed-key-signature", { signatures: [btcSign(chain, "p2pkh-uncompressed", key, message)] },
                      "invalid", "does not give this address"));
      m.push(mutation("script-on-p2pkh", { script: "51" + "21" + hex(ECPair.fromPrivateKey(key).publicKey) + "51ae" },
                      "invalid", "a script was given for a p2pkh address"));
    }
    if (kind === "p2pkh-uncompressed") {
      m.push(mutation("compressed-header", { signatures: [withHeader(sig, Buffer.from(sig, "base64")[0] + 4)] },
                      "invalid", "does not give this address"));
    }
    if (kind === "p2sh-p2wpkh") {
      m.push(mutation("header-names-p2wpkh", { signatures: [withHeader(sig, Buffer.from(sig, "base64")[0] + 4)] },
                      "invalid", "signs for a p2wpkh address, but the address is p2sh"));
      m.push(mutation("header-names-p2pkh", { signatures: [withHeader(sig, Buffer.from(sig, "base64")[0] - 4)] },
                      "invalid", "signs for a p2pkh address, but the address is p2sh"));
    }
    if (bech) {
      m.push(mutation("header-names-p2pkh", { signatures: [withHeader(sig, Buffer.from(sig, "base64")[0] - 8)] },
                      "invalid", "signs for a p2pkh address, but the address is p2wpkh"));
      m.push(mutation("address-upper-case", { address: address.toUpperCase() }, "bound", "p2wpkh signmessage"));
      m.push(mutation("address-mixed-case", { address: address.slice(0, -1) + address.slice(-1).toUpperCase() },
                      "invalid", "bech32 address in mixed case"));
    }
    if (chain === "bitcoin" && kind === "p2pkh-compressed") {  // Bitcoin Cash signs with Bitcoin's prefix
      m.push(mutation("same-key-on-bitcoin-cash", { chain: "bitcoin-cash" }, "bound", "p2pkh signmessage"));
    }
    v.mutations = m;
    return v;
  };
  return pair(make);
}

function bitcoinBip322() {
  const name = "bitcoin-p2wpkh-bip322";
  const key = ECPair.fromPrivateKey(keyBytes(name));
  const other = ECPair.fromPrivateKey(keyBytes(`${name} other`));
  const address = bitcoin.payments.p2wpkh({ pubkey: Buffer.from(key.publicKey) }).address;
  const otherAddress = bitcoin.payments.p2wpkh({ pubkey: Buffer.from(other.publicKey) }).address;
  const ltc = bitcoin.payments.p2wpkh({ pubkey: Buffer.from(key.publicKey), network: NETWORKS.litecoin }).address;
  const sign = (k, a, message) => Bip322Signer.sign(k.toWIF(), a, message);
  const make = (message, suffix) => {
    const signature = sign(key, address, message);
    const v = vector({ name: name + suffix, chain: "bitcoin", address, signatures: [signature], message,
                       keys: [keyBytes(name)], signedWith: sdk("bip322-js", "Signer.sign(wif, address, message)"),
                       status: "bound", reason: "BIP-322 simple" });
    v.mutations_when_omitted = "BIP-322 signature does not verify";
    if (suffix) return v;
    const raw = Buffer.from(signature, "base64");  // witness: count, DER signature + sighash, key
    raw[raw[1] + 1 - 10] ^= 0x01;  // a byte of s, inside the DER signature
    v.mutations = [
      mutation("wrong-key", { signatures: [sign(other, otherAddress, message)] }, "invalid", "BIP-322 signature does not verify"),
      mutation("other-period-text", { message: OTHER }, "invalid", "BIP-322 signature does not verify"),
      mutation("other-period-signed", { message: OTHER, signatures: [sign(key, address, OTHER)] }, "unbound", "replayable"),
      mutation("flipped-signature-byte", { signatures: [raw.toString("base64")] }, "invalid", "BIP-322 signature does not verify"),
      mutation("tampered-address", { address: tamper(address) }, "invalid", "bech32/bech32m checksum"),
      mutation("bip322-on-litecoin", { chain: "litecoin", address: ltc }, "unsupported", "BIP-322 on litecoin is not supported"),
    ];
    return v;
  };
  return pair(make);
}

function multisigScript(keys, m) {
  return Buffer.from(bitcoin.payments.p2ms({ m, pubkeys: keys.map((k) => Buffer.from(ECPair.fromPrivateKey(k).publicKey)) }).output);
}

function scriptAddress(chain, script, how) {
  const network = NETWORKS[chain];
  const redeem = { output: script, network };
  if (how === "p2sh") return bitcoin.payments.p2sh({ redeem, network }).address;
  if (how === "p2wsh") return bitcoin.payments.p2wsh({ redeem, network }).address;
  return bitcoin.payments.p2sh({ redeem: bitcoin.payments.p2wsh({ redeem, network }), network }).address;
}

function bitcoinMultisig(chain, how) {
  const name = `${chain}-${how}-multisig-2of3`;
  const keys = ["a", "b", "c"].map((k) => keyBytes(`${name} ${k}`));
  const outsider = keyBytes(`${name} d`);
  const script = multisigScript(keys, 2);
  const address = scriptAddress(chain, script, how);
  const sign = (k, message, kind = "p2pkh-compressed") => btcSign(chain, kind, k, message);
  const make = (message, suffix) => {
    const signatures = [sign(keys[0], message), sign(keys[2], message)];
    const v = vector({ name: name + suffix, chain, address, signatures, message, script: hex(script), keys,
                       signedWith: btcCall(chain, "p2pkh-compressed") + " by keys 1 and 3; script "
                         + sdk("bitcoinjs-lib", `payments.p2ms({m: 2, pubkeys}), payments.${how === "p2sh-p2wsh" ? "p2sh(p2wsh)" : how}`),
                       status: "bound", reason: `${how} 2-of-3 multisig, 2 keys signed` });
    v.mutations_when_omitted = "its key is not in the script";
    if (suffix) return v;
    v.mutations = [
      mutation("one-signature", { signatures: [signatures[0]] }, "invalid", "1 distinct signing key(s) of the 2"),
      mutation("same-key-twice", { signatures: [signatures[0], signatures[0]] }, "invalid", "a second signature by the same key"),
      mutation("key-outside-script", { signatures: [signatures[0], sign(outsider, message)] }, "invalid",
               "signature 2: its key is not in the script"),
      mutation("all-three-signed", { signatures: [...signatures, sign(keys[1], message)] }, "bound",
               `${how} 2-of-3 multisig, 3 keys signed`),
      mutation("script-of-other-keys", { script: hex(multisigScript([keys[0], keys[1], outsider], 2)) }, "invalid",
               "does not hash to the address"),
      mutation("script-upper-case-hex", { script: hex(script).toUpperCase() }, "bound", `${how} 2-of-3 multisig, 2 keys signed`),
      mutation("script-odd-length", { script: hex(script) + "0" }, "invalid", "the script is not hex"),
      mutation("other-period-text", { message: OTHER }, "invalid", "signature 1: its key is not in the script"),
      mutation("other-period-signed", { message: OTHER, signatures: [sign(keys[0], OTHER), sign(keys[1], OTHER)] },
               "unbound", "replayable"),
      mutation("segwit-header-signature", { signatures: [sign(keys[0], message, "p2wpkh"), signatures[1]] }, "invalid",
               "signature 1: header byte"),
      mutation("flipped-signature-byte", { signatures: [signatures[0], flipBase64(signatures[1], 40)] }, "invalid",
               "signature 2: its key is not in the script"),
      mutation("tampered-address", { address: tamper(address) }, "invalid",
               how === "p2wsh" ? "bech32/bech32m checksum" : "(base58check)"),
    ];
    if (how === "p2wsh") v.mutations.push(mutation("no-script", { script: null }, "invalid", "no script given"));
    else v.mutations.push(mutation("no-script", { script: null }, "invalid", "takes one signature, not 2"));
    return v;
  };
  return pair(make);
}

function bitcoinFamily() {
  const out = [];
  for (const kind of Object.keys(KINDS)) out.push(...bitcoinSingle("bitcoin", kind));
  out.push(...bitcoinBip322());
  for (const kind of ["p2pkh-compressed", "p2pkh-uncompressed", "p2sh-p2wpkh", "p2wpkh"]) out.push(...bitcoinSingle("litecoin", kind));
  for (const kind of ["p2pkh-compressed", "p2pkh-uncompressed"]) out.push(...bitcoinSingle("dogecoin", kind));
  out.push(...bitcoinSingle("dash", "p2pkh-compressed"));
  out.push(...bitcoinSingle("bitcoin-cash", "p2pkh-compressed"));
  for (const how of ["p2sh", "p2wsh", "p2sh-p2wsh"]) out.push(...bitcoinMultisig("bitcoin", how));
  out.push(...bitcoinMultisig("litecoin", "p2sh"));
  out.push(...bitcoinMultisig("dogecoin", "p2sh"));
  return out;
}

// ------------------------------------------------------------------ EVM (ethers)

const evmText = (wallet, message) => wallet.signMessageSync(message);
const evmKeccak = (wallet, message) => wallet.signMessageSync(getBytes(keccak256(toUtf8Bytes(message))));

function evmSingle(chain, variant) {
  const name = `${chain}-eip191-${variant}`;
  const key = keyBytes(name);
  const wallet = new Wallet("0x" + hex(key));
  const other = new Wallet("0x" + hex(keyBytes(`${name} other`)));
  const sign = variant === "text" ? evmText : evmKeccak;
  const call = variant === "text" ? "new Wallet(key).signMessageSync(message)"
    : "new Wallet(key).signMessageSync(getBytes(keccak256(toUtf8Bytes(message))))";
  const address = wallet.address;  // EIP-55
  const make = (message, suffix) => {
    const signature = sign(wallet, message);
    const v = vector({ name: name + suffix, chain, address, signatures: [signature], message, keys: [key],
                       signedWith: sdk("ethers", call), status: "bound", reason: `EIP-191 (${variant})` });
    v.mutations_when_omitted = "does not give this address";
    if (suffix) return v;
    const raw = Buffer.from(signature.slice(2), "hex");
    const recid = Buffer.from(raw);
    recid[64] -= 27;
    const v29 = Buffer.from(raw);
    v29[64] = 29;
    const lower = address.toLowerCase();
    const badCase = address.replace(/[a-f]/, (c) => c.toUpperCase()) !== address
      ? address.replace(/[a-f]/, (c) => c.toUpperCase()) : address.replace(/[A-F]/, (c) => c.toLowerCase());
    v.mutations = [
      mutation("wrong-key", { signatures: [sign(other, message)] }, "invalid", "does not give this address"),
      mutation("other-period-text", { message: OTHER }, "invalid", "does not give this address"),
      mutation("other-period-signed", { message: OTHER, signatures: [sign(wallet, OTHER)] }, "unbound", "replayable"),
      mutation("flipped-signature-byte", { signatures: [flipHex(signature, 40)] }, "invalid", "does not give this address"),
      mutation("v-as-recovery-id", { signatures: ["0x" + recid.toString("hex")] }, "bound", `EIP-191 (${variant})`),
      mutation("v-29", { signatures: ["0x" + v29.toString("hex")] }, "invalid", "v byte 29"),
      mutation("no-0x-prefix", { signatures: [signature.slice(2)] }, "bound", `EIP-191 (${variant})`),
      mutation("signature-64-bytes", { signatures: [signature.slice(0, -2)] }, "invalid", "not 65 bytes of hex"),
      mutation("address-lower-case", { address: lower }, "bound", `EIP-191 (${variant})`),
      mutation("address-upper-case", { address: "0x" + lower.slice(2).toUpperCase() }, "bound", `EIP-191 (${variant})`),
      mutation("address-bad-checksum", { address: badCase }, "invalid", "EIP-55 checksum error"),
      mutation("tampered-address", { address: tamper(lower) }, "invalid", "does not give this address"),
      mutation("tron-signature-same-key", { signatures: [tronUtils.message.signMessage(
        variant === "text" ? message : getBytes(keccak256(toUtf8Bytes(message))), "0x" + hex(key))] },
               "invalid", "does not give this address"),
      mutation("same-key-on-another-evm-chain", { chain: "arbitrum-one" }, "bound", `EIP-191 (${variant})`),
      mutation("chain-alias", { chain: "matic" }, "bound", `EIP-191 (${variant})`),
      mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
    ];
    return v;
  };
  return pair(make);
}

function evmContractWallet() {
  const name = "ethereum-contract-wallet-2-owners";
  const keys = ["a", "b"].map((k) => keyBytes(`${name} ${k}`));
  const owners = keys.map((k) => new Wallet("0x" + hex(k)));
  const outsider = new Wallet("0x" + hex(keyBytes(`${name} c`)));
  const address = getCreateAddress({ from: owners[0].address, nonce: 0 });  // a contract's address
  const make = (message, suffix) => {
    const signatures = owners.map((w) => evmText(w, message));
    const v = vector({ name: name + suffix, chain: "ethereum", address, signatures, message,
                       owners: owners.map((w) => w.address), keys,
                       signedWith: sdk("ethers", "new Wallet(owner key).signMessageSync(message); address getCreateAddress({from: owner 1, nonce: 0})"),
                       status: "unbound", reason: "not confirmed on chain", note: "owners not confirmed on chain" });
    v.mutations_when_omitted = "owner 1";
    if (suffix) return v;
    v.mutations = [
      mutation("owner-signed-by-another-key", { signatures: [signatures[0], evmText(outsider, message)] }, "invalid",
               "owner 2"),
      mutation("one-signature-for-two-owners", { signatures: [signatures[0]] }, "invalid", "one each"),
      mutation("owner-listed-twice", { owners: [owners[0].address, owners[0].address], signatures: [signatures[0], signatures[0]] },
               "unbound", "not confirmed on chain"),
      mutation("other-period-signed", { message: OTHER, signatures: owners.map((w) => evmText(w, OTHER)) }, "unbound",
               "over another text"),
      mutation("other-period-text", { message: OTHER }, "invalid", "owner 1"),
      mutation("owner-with-space", { owners: [owners[0].address + " ", owners[1].address] }, "invalid", "surrounding spaces"),
    ];
    return v;
  };
  return pair(make);
}

function evmFamily() {
  return [...evmSingle("ethereum", "text"), ...evmSingle("ethereum", "keccak"), ...evmSingle("bsc", "text"),
          ...evmContractWallet()];
}

// ------------------------------------------------------------------ TRON (tronweb)

function tronSingle(variant) {
  const name = `tron-tip191-${variant}`;
  const key = keyBytes(name);
  const priv = "0x" + hex(key);
  const address = TronWeb.address.fromPrivateKey(hex(key));
  const other = "0x" + hex(keyBytes(`${name} other`));
  const payload = (message) => (variant === "text" ? message : getBytes(keccak256(toUtf8Bytes(message))));
  const sign = (k, message) => tronUtils.message.signMessage(payload(message), k);
  const make = (message, suffix) => {
    const signature = sign(priv, message);
    const v = vector({ name: name + suffix, chain: "tron", address, signatures: [signature], message, keys: [key],
                       signedWith: sdk("tronweb", variant === "text" ? "utils.message.signMessage(message, key)"
                         : "utils.message.signMessage(getBytes(keccak256(toUtf8Bytes(message))), key)"),
                       status: "bound", reason: `TIP-191 (${variant})` });
    v.mutations_when_omitted = "does not give this address";
    if (suffix) return v;
    const hash20 = Buffer.from(TronWeb.address.toHex(address).slice(2), "hex");
    v.mutations = [
      mutation("wrong-key", { signatures: [sign(other, message)] }, "invalid", "does not give this address"),
      mutation("other-period-text", { message: OTHER }, "invalid", "does not give this address"),
      mutation("other-period-signed", { message: OTHER, signatures: [sign(priv, OTHER)] }, "unbound", "replayable"),
      mutation("flipped-signature-byte", { signatures: [flipHex(signature, 40)] }, "invalid", "does not give this address"),
      mutation("tampered-address", { address: tamper(address) }, "invalid", "not a TRON address (base58check)"),
      mutation("evm-signature-same-key", { signatures: [variant === "text" ? evmText(new Wallet(priv), message)
        : evmKeccak(new Wallet(priv), message)] }, "invalid", "does not give this address"),
      mutation("hex-address", { address: "0x" + hash20.toString("hex") }, "invalid", "not a TRON address (base58check)"),
      mutation("version-byte-0x00", { address: bitcoin.address.toBase58Check(hash20, 0x00) }, "invalid",
               "not a TRON mainnet address"),
      mutation("chain-alias", { chain: "TRC20" }, "bound", `TIP-191 (${variant})`),
      mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
    ];
    return v;
  };
  return pair(make);
}

// ------------------------------------------------------------------ Ed25519 helpers

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function sPlusL(signature) {  // the same signature with S + L (a malleated spelling RFC 8032 refuses)
  const raw = Buffer.from(signature);
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(raw[i]);
  s += L;
  for (let i = 32; i < 64; i++) { raw[i] = Number(s & 0xffn); s >>= 8n; }
  return raw;
}

// ------------------------------------------------------------------ Solana (@solana/keys)

async function solana() {
  const name = "solana-ed25519";
  const b58 = getBase58Decoder();  // bytes -> base58 text
  const fromB58 = getBase58Encoder();
  const pair_ = async (n) => createKeyPairFromPrivateKeyBytes(keyBytes(n));
  const keys = await pair_(name);
  const otherKeys = await pair_(`${name} other`);
  const address = await getAddressFromPublicKey(keys.publicKey);
  const otherAddress = await getAddressFromPublicKey(otherKeys.publicKey);
  const sign = async (k, message) => new Uint8Array(await signBytes(k.privateKey, new TextEncoder().encode(message)));
  const out = [];
  for (const [message, suffix] of [[CHALLENGE, ""], [SENTENCE, "-sentence"]]) {
    const raw = await sign(keys, message);
    const v = vector({ name: name + suffix, chain: "solana", address, signatures: [b58.decode(raw)], message,
                       keys: [keyBytes(name)], signedWith: sdk("@solana/keys", "signBytes(createKeyPairFromPrivateKeyBytes(seed).privateKey, utf8(message)), base58; address @solana/addresses getAddressFromPublicKey"),
                       status: suffix ? "unbound" : "bound", reason: suffix ? "replayable" : "Ed25519 (Solana)" });
    if (suffix) {
      v.mutations = [mutation("message-omitted", { message: null }, "invalid", "does not verify under the public key"),
                     mutation("message-is-the-challenge", { message: CHALLENGE }, "invalid", "does not verify under the public key")];
      out.push(v);
      continue;
    }
    const flipped = Buffer.from(raw);
    flipped[40] ^= 0x01;
    const pub = Buffer.from(fromB58.encode(address));
    const otherPub = Buffer.from(pub);
    otherPub[5] ^= 0x01;
    v.mutations = [
      mutation("wrong-key", { signatures: [b58.decode(await sign(otherKeys, message))] }, "invalid", "does not verify under the public key"),
      mutation("other-period-text", { message: OTHER }, "invalid", "does not verify under the public key"),
      mutation("other-period-signed", { message: OTHER, signatures: [b58.decode(await sign(keys, OTHER))] }, "unbound", "replayable"),
      mutation("flipped-signature-byte", { signatures: [b58.decode(flipped)] }, "invalid", "does not verify under the public key"),
      mutation("signature-hex", { signatures: [hex(raw)] }, "bound", "Ed25519 (Solana)"),
      mutation("script-is-the-key", { script: hex(pub) }, "bound", "Ed25519 (Solana)"),
      mutation("script-is-another-key", { script: otherAddress, signatures: [b58.decode(await sign(otherKeys, message))] },
               "invalid", "the public key does not derive the address"),
      mutation("tampered-address", { address: b58.decode(otherPub) }, "invalid", "does not verify under the public key"),
      mutation("leading-one-added", { address: "1" + address }, "invalid", "not a Solana address (32 bytes of base58)"),
      mutation("s-plus-l", { signatures: [hex(sPlusL(raw))] }, "invalid", "not below the group order L"),
      mutation("small-order-key-zero-signature", { address: "11111111111111111111111111111111", signatures: ["00".repeat(64)] },
               "invalid", "small-order Ed25519 point"),
      mutation("chain-alias", { chain: "SOL" }, "bound", "Ed25519 (Solana)"),
      mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
    ];
    out.push(v);
  }
  return out;
}

// ------------------------------------------------------------------ Aptos (@aptos-labs/ts-sdk)

function aptosAccount(seedName) {
  const privateKey = new Ed25519PrivateKey(keyBytes(seedName));
  const account = Account.fromPrivateKey({ privateKey });
  return { privateKey, address: account.accountAddress.toStringLong(), publicKey: privateKey.publicKey().toString() };
}

function aptos() {
  const out = [];
  // the second account's key is the first one found whose address starts with a zero digit, so that
  // its short spelling (leading zeros dropped) is a vector
  let shortSeed = null;
  for (let i = 0; shortSeed === null; i++) {
    if (aptosAccount(`aptos-ed25519-short ${i}`).address.startsWith("0x0")) shortSeed = `aptos-ed25519-short ${i}`;
  }
  for (const [name, seedName, short] of [["aptos-ed25519", "aptos-ed25519", false], ["aptos-ed25519-short-address", shortSeed, true]]) {
    const acct = aptosAccount(seedName);
    const other = aptosAccount(`${name} other`);
    const sign = (a, message) => a.privateKey.sign(new TextEncoder().encode(message)).toString();
    const address = short ? "0x" + acct.address.slice(2).replace(/^0+/, "") : acct.address;
    for (const [message, suffix] of [[CHALLENGE, ""], [SENTENCE, "-sentence"]]) {
      const signature = sign(acct, message);
      const v = vector({ name: name + suffix, chain: "aptos", address, signatures: [signature], message, script: acct.publicKey,
                         keys: [keyBytes(seedName)], signedWith: sdk("@aptos-labs/ts-sdk", "new Ed25519PrivateKey(seed).sign(utf8(message)); address Account.fromPrivateKey({privateKey}).accountAddress"
                           + (short ? ", leading zeros dropped" : "")),
                         status: suffix ? "unbound" : "bound", reason: suffix ? "replayable" : "Ed25519 (Aptos)" });
      if (suffix) {
        v.mutations = [mutation("message-omitted", { message: null }, "invalid", "does not verify under the public key"),
                       mutation("message-is-the-challenge", { message: CHALLENGE }, "invalid", "does not verify under the public key")];
        out.push(v);
        continue;
      }
      const raw = Buffer.from(signature.slice(2), "hex");
      const flipped = Buffer.from(raw);
      flipped[40] ^= 0x01;
      v.mutations = [
        mutation("wrong-key", { signatures: [sign(other, message)] }, "invalid", "does not verify under the public key"),
        mutation("other-period-text", { message: OTHER }, "invalid", "does not verify under the public key"),
        mutation("other-period-signed", { message: OTHER, signatures: [sign(acct, OTHER)] }, "unbound", "replayable"),
        mutation("flipped-signature-byte", { signatures: ["0x" + hex(flipped)] }, "invalid", "does not verify under the public key"),
        mutation("no-script", { script: null }, "invalid", "proven with its public key"),
        mutation("script-is-another-key", { script: other.publicKey, signatures: [sign(other, message)] }, "invalid",
                 "the public key does not derive the address"),
        mutation("tampered-address", { address: tamper(acct.address, 10) }, "invalid", "the public key does not derive the address"),
        mutation("address-upper-case-hex", { address: "0x" + address.slice(2).toUpperCase() }, "bound", "Ed25519 (Aptos)"),
        mutation("address-65-digits", { address: "0x0" + acct.address.slice(2) }, "invalid", "up to 64 hex digits"),
        mutation("s-plus-l", { signatures: ["0x" + hex(sPlusL(raw))] }, "invalid", "not below the group order L"),
        mutation("small-order-key", { script: "01" + "00".repeat(31) }, "invalid", "small-order Ed25519 point"),
        mutation("chain-alias", { chain: "apt" }, "bound", "Ed25519 (Aptos)"),
        mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
      ];
      if (short) v.mutations.push(mutation("address-long-form", { address: acct.address }, "bound", "Ed25519 (Aptos)"));
      out.push(v);
    }
  }
  return out;
}

// ------------------------------------------------------------------ output

const FAMILIES = {
  bitcoin: { chains: "bitcoin, litecoin, dogecoin, dash, bitcoin-cash", vectors: bitcoinFamily() },
  evm: { chains: "ethereum, bsc (every EVM chain signs alike)", vectors: evmFamily() },
  tron: { chains: "tron", vectors: [...tronSingle("text"), ...tronSingle("keccak")] },
  solana: { chains: "solana", vectors: await solana() },
  aptos: { chains: "aptos", vectors: aptos() },
};

mkdirSync(outDir, { recursive: true });
const dump = (file, doc) => writeFileSync(join(outDir, file), JSON.stringify(doc, null, 2) + "\n");
dump("texts.json", TEXTS);
for (const [family, { chains, vectors }] of Object.entries(FAMILIES)) {
  const names = new Set();
  for (const v of vectors) {
    if (names.has(v.name)) throw new Error(`vector name ${v.name} twice`);
    names.add(v.name);
  }
  dump(`${family}.json`, {
    format: "por-reserve-ownership-vectors-v1",
    family,
    chains,
    generator: "tests/support/vectors/make.mjs (node), from the pinned tests/support/vectors/package-lock.json",
    packages: PACKAGES,
    texts: "texts.json",
    vectors,
  });
}
