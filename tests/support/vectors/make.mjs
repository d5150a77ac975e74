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
import { encodeCashAddress } from "@bitauth/libauth";
import * as MS from "@emurgo/cardano-message-signing-nodejs";
import * as CSL from "@emurgo/cardano-serialization-lib-nodejs";
import { toSerializedSignature } from "@mysten/sui/cryptography";
import { Ed25519Keypair } from "@mysten/sui/keypairs/ed25519";
import { Secp256k1Keypair } from "@mysten/sui/keypairs/secp256k1";
import { Secp256r1Keypair } from "@mysten/sui/keypairs/secp256r1";
import { Keyring } from "@polkadot/keyring";
import { stringToU8a, u8aToHex, u8aWrapBytes } from "@polkadot/util";
import { cryptoWaitReady, encodeAddress } from "@polkadot/util-crypto";
import { getAddressFromPublicKey } from "@solana/addresses";
import { getBase58Decoder, getBase58Encoder } from "@solana/codecs-strings";
import { createKeyPairFromPrivateKeyBytes, signBytes } from "@solana/keys";
import { Signer as Bip322Signer } from "bip322-js";
import * as bitcoin from "bitcoinjs-lib";
import bitcoinMessage from "bitcoinjs-message";
import { ECPairFactory } from "ecpair";
import { SigningKey, Wallet, getBytes, getCreateAddress, keccak256, toUtf8Bytes } from "ethers";
import * as filecoinAddress from "iso-filecoin/address";
import * as filecoinWallet from "iso-filecoin/wallet";
import { classicAddressToXAddress, decodeAccountID } from "ripple-address-codec";
import * as rippleKeypairs from "ripple-keypairs";
import { Cell, beginCell, contractAddress } from "@ton/core";
import { keyPairFromSeed, sign as tonSign } from "@ton/crypto";
import { WalletContractV3R1, WalletContractV3R2, WalletContractV4, WalletContractV5R1 } from "@ton/ton";
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
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The address with its character at ``at`` replaced by the next one of its alphabet (given, or
 * told by the address's look). */
function tamper(address, at = 8, given = null) {
  const alphabet = given ?? (/^(bc|ltc)1/.test(address) ? BECH32 : address.startsWith("0x") ? "0123456789abcdef" : B58);
  const i = alphabet.indexOf(address[at]);
  if (i < 0) throw new Error(`cannot tamper ${address} at ${at}`);
  return address.slice(0, at) + alphabet[(i + 1) % alphabet.length] + address.slice(at + 1);
}

/** ``signature`` (base64 or 0x-hex or hex) with byte ``at`` xor 0x01, in the same encoding. */
/** ``text`` with its last lower-case letter in upper case. */
function mixedCase(text) {
  const at = text.search(/[a-z][^a-z]*$/);
  return text.slice(0, at) + text[at].toUpperCase() + text.slice(at + 1);
}

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

// ------------------------------------------------------------------ Bitcoin Cash CashAddr (@bitauth/libauth)

function cashAddr(type, payload, prefix = "bitcoincash") {
  return encodeCashAddress({ prefix, type, payload: Uint8Array.from(payload) }).address;
}

function bitcoinCashSingle() {
  const name = "bitcoin-cash-cashaddr-p2pkh";
  const key = keyBytes(name);
  const other = keyBytes(`${name} other`);
  const hash = bitcoin.crypto.hash160(Buffer.from(ECPair.fromPrivateKey(key).publicKey));
  const address = cashAddr("p2pkh", hash);
  const legacy = btcAddress("bitcoin-cash", "p2pkh-compressed", key);
  const call = btcCall("bitcoin-cash", "p2pkh-compressed") + "; address " + sdk("@bitauth/libauth",
    "encodeCashAddress({prefix: \"bitcoincash\", type: \"p2pkh\", payload: hash160(key)})");
  const make = (message, suffix) => {
    const signature = btcSign("bitcoin-cash", "p2pkh-compressed", key, message);
    const v = vector({ name: name + suffix, chain: "bitcoin-cash", address, signatures: [signature], message, keys: [key],
                       signedWith: call, status: "bound", reason: "p2pkh signmessage" });
    v.mutations_when_omitted = "does not give this address";
    if (suffix) return v;
    v.mutations = [
      mutation("wrong-key", { signatures: [btcSign("bitcoin-cash", "p2pkh-compressed", other, message)] }, "invalid",
               "does not give this address"),
      mutation("other-period-text", { message: OTHER }, "invalid", "does not give this address"),
      mutation("other-period-signed", { message: OTHER, signatures: [btcSign("bitcoin-cash", "p2pkh-compressed", key, OTHER)] },
               "unbound", "replayable"),
      mutation("flipped-signature-byte", { signatures: [flipBase64(signature, 40)] }, "invalid", "does not give this address"),
      mutation("tampered-address", { address: tamper(address, 20, BECH32) }, "invalid", "checksum"),
      mutation("without-prefix", { address: address.split(":")[1] }, "bound", "p2pkh signmessage"),
      mutation("address-upper-case", { address: address.toUpperCase() }, "bound", "p2pkh signmessage"),
      mutation("address-mixed-case", { address: mixedCase(address) }, "invalid", "CashAddr address in mixed case"),
      mutation("legacy-spelling", { address: legacy }, "bound", "p2pkh signmessage"),
      mutation("token-aware-spelling", { address: cashAddr("p2pkhWithTokens", hash) }, "bound", "p2pkh signmessage"),
      mutation("wrong-network-prefix", { address: cashAddr("p2pkh", hash, "ecash") }, "invalid",
               "prefix 'ecash' is not 'bitcoincash'"),
      mutation("testnet-prefix", { address: cashAddr("p2pkh", hash, "bchtest") }, "invalid", "prefix 'bchtest'"),
      mutation("cashaddr-on-bitcoin", { chain: "bitcoin" }, "invalid", "(base58check)"),
      mutation("chain-alias", { chain: "BCH" }, "bound", "p2pkh signmessage"),
      mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
    ];
    return v;
  };
  return pair(make);
}

function bitcoinCashMultisig(how) {
  const name = `bitcoin-cash-cashaddr-${how}-multisig-2of3`;
  const keys = ["a", "b", "c"].map((k) => keyBytes(`${name} ${k}`));
  const script = multisigScript(keys, 2);
  const hash = how === "p2sh" ? bitcoin.crypto.hash160(script) : bitcoin.crypto.hash256(script);
  const address = cashAddr("p2sh", hash);
  const sign = (k, message) => btcSign("bitcoin-cash", "p2pkh-compressed", k, message);
  const make = (message, suffix) => {
    const signatures = [sign(keys[0], message), sign(keys[2], message)];
    const v = vector({ name: name + suffix, chain: "bitcoin-cash", address, signatures, message, script: hex(script), keys,
                       signedWith: btcCall("bitcoin-cash", "p2pkh-compressed") + " by keys 1 and 3; script "
                         + sdk("bitcoinjs-lib", "payments.p2ms({m: 2, pubkeys})") + "; address "
                         + sdk("@bitauth/libauth", `encodeCashAddress({type: "p2sh", payload: ${how === "p2sh" ? "hash160" : "hash256"}(script)})`),
                       status: "bound", reason: `${how} 2-of-3 multisig, 2 keys signed` });
    v.mutations_when_omitted = "its key is not in the script";
    if (suffix) return v;
    v.mutations = [
      mutation("one-signature", { signatures: [signatures[0]] }, "invalid", "1 distinct signing key(s) of the 2"),
      mutation("other-period-text", { message: OTHER }, "invalid", "signature 1: its key is not in the script"),
      mutation("other-period-signed", { message: OTHER, signatures: [sign(keys[0], OTHER), sign(keys[1], OTHER)] },
               "unbound", "replayable"),
      mutation("script-of-other-keys", { script: hex(multisigScript([keys[0], keys[1], keyBytes(`${name} d`)], 2)) },
               "invalid", "does not hash to the address"),
      mutation("without-prefix", { address: address.split(":")[1] }, "bound", `${how} 2-of-3 multisig`),
      mutation("token-aware-spelling", { address: cashAddr("p2shWithTokens", hash) }, "bound", `${how} 2-of-3 multisig`),
      mutation("tampered-address", { address: tamper(address, 20, BECH32) }, "invalid", "checksum"),
      mutation("no-script", { script: null }, "invalid", how === "p2sh" ? "takes one signature, not 2" : "no script given"),
    ];
    if (how === "p2sh") v.mutations.push(mutation("legacy-spelling", { address: scriptAddress("bitcoin-cash", script, "p2sh") },
                                                  "bound", "p2sh 2-of-3 multisig"));
    return v;
  };
  return pair(make);
}

// ------------------------------------------------------------------ XRP Ledger (ripple-keypairs)

const XRP_B58 = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz";
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function xrplAccount(seedName, algorithm) {
  const seed = rippleKeypairs.generateSeed({ entropy: Uint8Array.from(keyBytes(seedName).subarray(0, 16)), algorithm });
  const kp = rippleKeypairs.deriveKeypair(seed);
  return { seed, publicKey: kp.publicKey, privateKey: kp.privateKey, address: rippleKeypairs.deriveAddress(kp.publicKey) };
}

const xrplSign = (account, message) => rippleKeypairs.sign(Buffer.from(message, "utf8").toString("hex"), account.privateKey);

function derInt(bytes) {  // DER INTEGER of a big-endian unsigned number
  let b = Buffer.from(bytes);
  while (b.length > 1 && b[0] === 0 && !(b[1] & 0x80)) b = b.subarray(1);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return Buffer.concat([Buffer.from([0x02, b.length]), b]);
}

function highS(derHex) {  // the same ECDSA signature with S replaced by N - S (valid, but not canonical)
  const der = Buffer.from(derHex, "hex");
  const rLen = der[3];
  const r = der.subarray(4, 4 + rLen);
  const s = BigInt("0x" + der.subarray(6 + rLen).toString("hex"));
  const high = Buffer.from((SECP256K1_N - s).toString(16).padStart(64, "0"), "hex");
  const body = Buffer.concat([derInt(r), derInt(high)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]).toString("hex").toUpperCase();
}

function xrplFamily() {
  const out = [];
  for (const [label, algorithm, kind] of [["secp256k1", "ecdsa-secp256k1", "secp256k1"], ["ed25519", "ed25519", "Ed25519"]]) {
    const name = `xrpl-${label}`;
    const acct = xrplAccount(name, algorithm);
    const other = xrplAccount(`${name} other`, algorithm);
    const reason = `XRP Ledger ${kind} (ripple-keypairs sign)`;
    const make = (message, suffix) => {
      const signature = xrplSign(acct, message);
      const v = vector({ name: name + suffix, chain: "xrpl", address: acct.address, signatures: [signature], message,
                         script: acct.publicKey, keys: [keyBytes(name)],
                         signedWith: sdk("ripple-keypairs", `sign(hex(utf8(message)), deriveKeypair(generateSeed({entropy: key[0:16], `
                           + `algorithm: "${algorithm}"})).privateKey); address deriveAddress(publicKey)`),
                         status: "bound", reason });
      v.mutations_when_omitted = "does not verify under the public key";
      if (suffix) return v;
      const m = [
        mutation("wrong-key", { signatures: [xrplSign(other, message)] }, "invalid", "does not verify under the public key"),
        mutation("signature-for-another-address", { script: other.publicKey, signatures: [xrplSign(other, message)] },
                 "invalid", "the public key does not derive the address"),
        mutation("other-period-text", { message: OTHER }, "invalid", "does not verify under the public key"),
        mutation("other-period-signed", { message: OTHER, signatures: [xrplSign(acct, OTHER)] }, "unbound", "replayable"),
        mutation("flipped-signature-byte", { signatures: [flipHex(signature, 40)] }, "invalid", "does not verify"),
        mutation("tampered-address", { address: tamper(acct.address, 8, XRP_B58) }, "invalid",
                 "not an XRP Ledger classic address (base58check"),
        mutation("bitcoin-alphabet-address", { address: bitcoin.address.toBase58Check(
          Buffer.from(decodeAccountID(acct.address)), 0x00) }, "invalid", "not an XRP Ledger classic address"),
        mutation("x-address", { address: classicAddressToXAddress(acct.address, 7, false) }, "invalid", "an X-address"),
        mutation("signature-lower-case-hex", { signatures: [signature.toLowerCase()] }, "bound", reason),
        mutation("key-not-hex", { script: "not hex" }, "invalid", "not hex"),
        mutation("chain-alias", { chain: "XRP" }, "bound", reason),
        mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
      ];
      if (label === "secp256k1") {
        m.push(mutation("no-public-key", { script: null }, "bound", "key recovered"));
        m.push(mutation("no-public-key-wrong-key", { script: null, signatures: [xrplSign(other, message)] }, "invalid",
                        "no key the signature recovers to gives this address"));
        m.push(mutation("high-s", { signatures: [highS(signature)] }, "invalid", "high S"));
        m.push(mutation("not-der", { signatures: [signature.slice(0, 4) + "00" + signature.slice(6)] }, "invalid",
                        "does not decode"));
      } else {
        m.push(mutation("no-public-key", { script: null }, "invalid", "proven with its public key"));
        m.push(mutation("key-without-ed-prefix", { script: acct.publicKey.slice(2) }, "invalid",
                        "neither ED followed by 32 bytes nor a compressed secp256k1 key"));
        m.push(mutation("s-plus-l", { signatures: [hex(sPlusL(Buffer.from(signature, "hex")))] }, "invalid",
                        "not below the group order L"));
      }
      v.mutations = m;
      return v;
    };
    out.push(...pair(make));
  }
  return out;
}

// ------------------------------------------------------------------ Cardano (cardano-serialization-lib, message-signing)

const MAINNET_ID = () => CSL.NetworkInfo.mainnet().network_id();

function cardanoKey(seedName) {
  const privateKey = CSL.PrivateKey.from_normal_bytes(keyBytes(seedName));
  return { privateKey, publicKey: privateKey.to_public(), hash: privateKey.to_public().hash() };
}

function cardanoAddresses(key, stake, network = MAINNET_ID()) {
  const cred = CSL.Credential.from_keyhash(key.hash);
  return {
    base: CSL.BaseAddress.new(network, cred, CSL.Credential.from_keyhash(stake.hash)).to_address(),
    enterprise: CSL.EnterpriseAddress.new(network, cred).to_address(),
  };
}

/** CIP-30 signData(address, hex(utf8(message))) as wallets build it with message-signing: the
 * COSE_Sign1 and the COSE_Key, both CBOR hex. */
function signData(key, address, message, hashed = false) {
  const protectedMap = MS.HeaderMap.new();
  protectedMap.set_algorithm_id(MS.Label.from_algorithm_id(MS.AlgorithmId.EdDSA));
  protectedMap.set_header(MS.Label.new_text("address"), MS.CBORValue.new_bytes(address.to_bytes()));
  const unprotected = MS.HeaderMap.new();
  unprotected.set_header(MS.Label.new_text("hashed"), MS.CBORValue.new_special(MS.CBORSpecial.new_bool(hashed)));
  const headers = MS.Headers.new(MS.ProtectedHeaderMap.new(protectedMap), unprotected);
  const builder = MS.COSESign1Builder.new(headers, Buffer.from(message, "utf8"), false);
  if (hashed) builder.hash_payload();
  const signature = key.privateKey.sign(builder.make_data_to_sign().to_bytes()).to_bytes();
  const coseKey = MS.COSEKey.new(MS.Label.from_key_type(MS.KeyType.OKP));
  coseKey.set_algorithm_id(MS.Label.from_algorithm_id(MS.AlgorithmId.EdDSA));
  coseKey.set_header(MS.Label.new_int(MS.Int.new_negative(MS.BigNum.from_str("1"))), MS.CBORValue.new_int(MS.Int.new_i32(6)));
  coseKey.set_header(MS.Label.new_int(MS.Int.new_negative(MS.BigNum.from_str("2"))), MS.CBORValue.new_bytes(key.publicKey.as_bytes()));
  return { signature: hex(builder.build(signature).to_bytes()), key: hex(coseKey.to_bytes()) };
}

function cardanoFamily() {
  const out = [];
  for (const kind of ["base", "enterprise"]) {
    const name = `cardano-${kind}-address`;
    const key = cardanoKey(name);
    const stake = cardanoKey(`${name} stake`);
    const other = cardanoKey(`${name} other`);
    const addresses = cardanoAddresses(key, stake);
    const address = addresses[kind];
    const bech = address.to_bech32();
    const reason = `CIP-8 COSE_Sign1 (Ed25519 payment key, ${kind} address)`;
    const make = (message, suffix) => {
      const { signature, key: coseKey } = signData(key, address, message);
      const v = vector({ name: name + suffix, chain: "cardano", address: bech, signatures: [signature], message, script: coseKey,
                         keys: [keyBytes(name), keyBytes(`${name} stake`)],
                         signedWith: sdk("@emurgo/cardano-message-signing-nodejs", "COSESign1Builder.new(Headers(protected {alg: EdDSA, "
                           + "address}, {hashed: false}), utf8(message)), signed by ")
                           + sdk("@emurgo/cardano-serialization-lib-nodejs", `PrivateKey.from_normal_bytes(key).sign(make_data_to_sign()); `
                           + `address ${kind === "base" ? "BaseAddress" : "EnterpriseAddress"}.new(mainnet, key hash${kind === "base" ? ", stake key hash" : ""})`),
                         status: "bound", reason });
      v.mutations_when_omitted = "payload is not the row's message";
      if (suffix) return v;
      const otherAddress = cardanoAddresses(other, stake)[kind];
      const sibling = addresses[kind === "base" ? "enterprise" : "base"];
      const raw = Buffer.from(signature, "hex");
      raw[raw.length - 20] ^= 0x01;  // a byte of the Ed25519 signature, the COSE_Sign1's last field
      const scriptAddress = CSL.EnterpriseAddress.new(MAINNET_ID(), CSL.Credential.from_scripthash(
        CSL.ScriptHash.from_bytes(Buffer.alloc(28, 7)))).to_address();
      v.mutations = [
        mutation("wrong-key", { signatures: [signData(other, address, message).signature] }, "invalid",
                 "does not verify under the public key"),
        mutation("key-of-another-address", { script: signData(other, otherAddress, message).key,
                                             signatures: [signData(other, address, message).signature] },
                 "invalid", "the key does not give the address"),
        mutation("signature-for-another-address", { signatures: [signData(key, sibling, message).signature] }, "invalid",
                 "signed for another address"),
        mutation("other-period-text", { message: OTHER }, "invalid", "payload is not the row's message"),
        mutation("other-period-signed", { message: OTHER, signatures: [signData(key, address, OTHER).signature] }, "unbound",
                 "replayable"),
        mutation("flipped-signature-byte", { signatures: [raw.toString("hex")] }, "invalid", "does not verify under the public key"),
        mutation("hashed-payload", { signatures: [signData(key, address, message, true).signature] }, "bound", reason),
        mutation("tampered-address", { address: tamper(bech, 20, BECH32) }, "invalid", "checksum"),
        mutation("testnet-address", { address: cardanoAddresses(key, stake, CSL.NetworkInfo.testnet_preprod().network_id())[kind]
          .to_bech32("addr_test") }, "invalid", "testnet"),
        mutation("stake-address", { address: CSL.RewardAddress.new(MAINNET_ID(), CSL.Credential.from_keyhash(stake.hash))
          .to_address().to_bech32() }, "invalid", "stake (reward) address"),
        mutation("script-payment-address", { address: scriptAddress.to_bech32() }, "unsupported", "paying to a script"),
        mutation("address-upper-case", { address: bech.toUpperCase() }, "bound", reason),
        mutation("address-mixed-case", { address: mixedCase(bech) }, "invalid", "mixed case"),
        mutation("raw-public-key", { script: key.publicKey.to_hex() }, "bound", reason),
        mutation("no-script", { script: null }, "invalid", "proven with its payment key"),
        mutation("chain-alias", { chain: "ADA" }, "bound", reason),
        mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
      ];
      return v;
    };
    out.push(...pair(make));
  }
  return out;
}

// ------------------------------------------------------------------ Polkadot, Kusama (@polkadot/keyring, util-crypto)

/** sr25519 signatures take randomness: during the generator's signing, the Web Crypto source
 * polkadot-js's WASM reads is a counter hashed with SHA-256, reset per signature (deterministic
 * output; the signatures are still the SDK's, and verify like any other). */
let rngCounter = 0;
const realRandom = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
function deterministic(fn) {
  rngCounter = 0;
  globalThis.crypto.getRandomValues = (array) => {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let at = 0; at < bytes.length; at += 32) {
      const block = createHash("sha256").update(`por vectors sr25519 randomness ${rngCounter++}`).digest();
      bytes.set(block.subarray(0, Math.min(32, bytes.length - at)), at);
    }
    return array;
  };
  try {
    return fn();
  } finally {
    globalThis.crypto.getRandomValues = realRandom;
  }
}

const SS58 = { polkadot: 0, kusama: 2 };

function polkadotPair(type, seedName, chain) {
  return new Keyring({ type, ss58Format: SS58[chain] }).addFromSeed(keyBytes(seedName));
}

function polkadotFamily() {
  const out = [];
  for (const [chain, type, wrapped] of [["polkadot", "sr25519", true], ["polkadot", "ed25519", true], ["kusama", "sr25519", true],
                                        ["polkadot", "sr25519", false]]) {
    const name = `${chain}-${type}${wrapped ? "" : "-bare"}`;
    const pairOf = (n) => polkadotPair(type, n, chain);
    const key = pairOf(name);
    const other = pairOf(`${name} other`);
    const data = (message) => (wrapped ? u8aWrapBytes(stringToU8a(message)) : stringToU8a(message));
    const sign = (p, message, withType = false) => deterministic(() => u8aToHex(p.sign(data(message), { withType })));
    const reason = `${type === "sr25519" ? "sr25519" : "Ed25519"} (${wrapped ? "<Bytes> wrapped" : "bare"})`;
    const make = (message, suffix) => {
      const signature = sign(key, message);
      const v = vector({ name: name + suffix, chain, address: key.address, signatures: [signature], message, keys: [keyBytes(name)],
                         signedWith: sdk("@polkadot/keyring", `new Keyring({type: "${type}", ss58Format: ${SS58[chain]}}).addFromSeed(key)`
                           + `.sign(${wrapped ? "u8aWrapBytes(stringToU8a(message))" : "stringToU8a(message)"})`),
                         status: "bound", reason });
      v.mutations_when_omitted = "does not verify under the address's key";
      if (suffix) return v;
      const raw = Buffer.from(signature.slice(2), "hex");
      const flipped = Buffer.from(raw);
      flipped[10] ^= 0x01;
      const otherChain = chain === "polkadot" ? "kusama" : "polkadot";
      const m = [
        mutation("wrong-key", { signatures: [sign(other, message)] }, "invalid", "does not verify under the address's key"),
        mutation("signature-for-another-address", { address: other.address }, "invalid", "does not verify under the address's key"),
        mutation("other-period-text", { message: OTHER }, "invalid", "does not verify under the address's key"),
        mutation("other-period-signed", { message: OTHER, signatures: [sign(key, OTHER)] }, "unbound", "replayable"),
        mutation("flipped-signature-byte", { signatures: ["0x" + flipped.toString("hex")] }, "invalid", "does not verify"),
        mutation("tampered-address", { address: tamper(key.address, 12) }, "invalid", "checksum"),
        mutation("wrong-network-prefix", { address: encodeAddress(key.publicKey, 42) }, "invalid",
                 `SS58 network prefix 42 is not ${chain}'s ${SS58[chain]}`),
        mutation(`${otherChain}-address`, { address: encodeAddress(key.publicKey, SS58[otherChain]) }, "invalid",
                 `SS58 network prefix ${SS58[otherChain]} is not ${chain}'s ${SS58[chain]}`),
        mutation(`same-key-on-${otherChain}`, { chain: otherChain, address: encodeAddress(key.publicKey, SS58[otherChain]) },
                 "bound", reason),
        mutation("multisignature-type-byte", { signatures: [sign(key, message, true)] }, "bound", reason),
        mutation("other-scheme-type-byte", { signatures: [(type === "sr25519" ? "0x00" : "0x01") + signature.slice(2)] },
                 "invalid", type === "sr25519" ? "not below the group order L" : "the sr25519 signature does not verify"),
        mutation("ecdsa-type-byte", { signatures: ["0x02" + signature.slice(2)] }, "unsupported", "ECDSA"),
        mutation("signature-63-bytes", { signatures: [signature.slice(0, -2)] }, "invalid", "not 64"),
        mutation("script-is-another-key", { script: u8aToHex(other.publicKey) }, "invalid", "not the address's key"),
        mutation("script-is-the-key", { script: u8aToHex(key.publicKey) }, "bound", reason),
        mutation("chain-alias", { chain: chain === "polkadot" ? "DOT" : "KSM" }, "bound", reason),
        mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
      ];
      if (type === "ed25519") m.push(mutation("s-plus-l", { signatures: [hex(sPlusL(raw))] }, "invalid", "not below the group order L"));
      v.mutations = m;
      return v;
    };
    out.push(...pair(make));
  }
  return out;
}

// ------------------------------------------------------------------ TON (@ton/ton, @ton/core, @ton/crypto)

const HIGHLOAD_V3_CODE = Cell.fromBoc(Buffer.from(  // ton-blockchain/highload-wallet-contract-v3, build/HighloadWalletV3.compiled.json
  "b5ee9c7241021001000228000114ff00f4a413f4bcf2c80b01020120020d02014803040078d020d74bc00101c060b0915be101d0d3030171b0915be0fa"
  + "4030f828c705b39130e0d31f018210ae42e5a4ba9d8040d721d74cf82a01ed55fb04e030020120050a02027306070011adce76a2686b85ffc00201200809"
  + "001aabb6ed44d0810122d721d70b3f0018aa3bed44d08307d721d70b1f0201200b0c001bb9a6eed44d0810162d721d70b15800e5b8bf2eda2edfb21ab0902"
  + "8409b0ed44d0810120d721f404f404d33fd315d1058e1bf82325a15210b99f326df82305aa0015a112b992306dde923033e2923033e25230800df40f6fa1"
  + "9ed021d721d70a00955f037fdb31e09130e259800df40f6fa19cd001d721d70a00937fdb31e0915be270801f6f2d48308d718d121f900ed44d0d3ffd31f"
  + "f404f404d33fd315d1f82321a15220b98e12336df82324aa00a112b9926d32de58f82301de541675f910f2a106d0d31fd4d307d30cd309d33fd315d15168"
  + "baf2a2515abaf2a6f8232aa15250bcf2a304f823bbf2a35304800df40f6fa199d024d721d70a00f2649130e20e01fe5309800df40f6fa18e13d05004d718"
  + "d20001f264c858cf16cf8301cf168e1030c824cf40cf8384095005a1a514cf40e2f800c94039800df41704c8cbff13cb1ff40012f40012cb3f12cb15c9ed"
  + "54f80f21d0d30001f265d3020171b0925f03e0fa4001d70b01c000f2a5fa4031fa0031f401fa0031fa00318060d721d300010f0020f265d2000193d431d1"
  + "9130e272b1fb00b585bf03", "hex"))[0];

/** Highload wallet v3's StateInit as its wrapper (highloadWalletV3ConfigToCell) builds it. */
function highloadV3(publicKey, subwalletId = 0x10ad, timeout = 43200) {
  const data = beginCell().storeBuffer(publicKey).storeUint(subwalletId, 32).storeUint(0, 1 + 1 + 64).storeUint(timeout, 22).endCell();
  const init = { code: HIGHLOAD_V3_CODE, data };
  return { address: contractAddress(0, init), init, walletId: subwalletId };
}

const TON_WALLETS = {
  v5r1: (publicKey) => WalletContractV5R1.create({ workchain: 0, publicKey }),
  v4r2: (publicKey) => WalletContractV4.create({ workchain: 0, publicKey }),
  v3r2: (publicKey) => WalletContractV3R2.create({ workchain: 0, publicKey }),
  v3r1: (publicKey) => WalletContractV3R1.create({ workchain: 0, publicKey }),
  "highload-v3": (publicKey) => highloadV3(publicKey),
};

const TON_CALLS = {
  v5r1: "WalletContractV5R1.create({workchain: 0, publicKey})",
  v4r2: "WalletContractV4.create({workchain: 0, publicKey})",
  v3r2: "WalletContractV3R2.create({workchain: 0, publicKey})",
  v3r1: "WalletContractV3R1.create({workchain: 0, publicKey})",
  "highload-v3": "contractAddress(0, {code: HighloadWalletV3 code, data: key, subwallet 0x10ad, timeout 43200})",
};

function tonWalletTable() {  // what the Python side's TON wallet constants must be (tests/test_reserve_vectors.py)
  const publicKey = keyPairFromSeed(keyBytes("ton wallet table")).publicKey;
  return Object.fromEntries(Object.entries(TON_WALLETS).map(([name, create]) => {
    const w = create(publicKey);
    const walletId = name === "v5r1" ? 2147483409 : w.walletId;
    return [name, { code_hash: w.init.code.hash().toString("hex"), code_depth: w.init.code.depth(), wallet_id: walletId,
                    timeout: name === "highload-v3" ? 43200 : 0 }];
  }));
}

function tonFamily() {
  const out = [];
  // the wallet named in the script (v3r2, highload-v3), or the key alone (the documented order finds v5r1, v4r2)
  for (const [wallet, named] of [["v4r2", false], ["v5r1", false], ["v3r2", true], ["highload-v3", true]]) {
    const name = `ton-${wallet}`;
    const keys = keyPairFromSeed(keyBytes(name));
    const other = keyPairFromSeed(keyBytes(`${name} other`));
    const contract = TON_WALLETS[wallet](keys.publicKey);
    const address = contract.address.toString({ bounceable: true, urlSafe: true });
    const script = (named ? `${wallet}:` : "") + keys.publicKey.toString("hex");
    const sign = (k, message) => tonSign(Buffer.from(message, "utf8"), k.secretKey).toString("base64");
    const reason = `Ed25519 (TON wallet ${wallet})`;
    const make = (message, suffix) => {
      const signature = sign(keys, message);
      const v = vector({ name: name + suffix, chain: "ton", address, signatures: [signature], message, script, keys: [keyBytes(name)],
                         signedWith: sdk("@ton/crypto", "sign(Buffer.from(message, \"utf8\"), keyPairFromSeed(key).secretKey), base64")
                           + "; address " + (wallet === "highload-v3" ? sdk("@ton/core", TON_CALLS[wallet]) : sdk("@ton/ton", TON_CALLS[wallet]))
                           + ".address.toString({bounceable: true, urlSafe: true})",
                         status: "bound", reason });
      v.mutations_when_omitted = "does not verify under the public key";
      if (suffix) return v;
      const raw = Buffer.from(signature, "base64");
      const flipped = Buffer.from(raw);
      flipped[40] ^= 0x01;
      const wrongVersion = wallet === "v3r2" ? "v4r2" : "v3r2";
      const m = [
        mutation("wrong-key", { signatures: [sign(other, message)] }, "invalid", "does not verify under the public key"),
        mutation("signature-for-another-address", { script: (named ? `${wallet}:` : "") + other.publicKey.toString("hex"),
                                                    signatures: [sign(other, message)] }, "invalid", "the public key's wallet is not this address"),
        mutation("wrong-wallet-version", { script: `${wrongVersion}:${keys.publicKey.toString("hex")}` }, "invalid",
                 `is not this address (tried ${wrongVersion}`),
        mutation("other-period-text", { message: OTHER }, "invalid", "does not verify under the public key"),
        mutation("other-period-signed", { message: OTHER, signatures: [sign(keys, OTHER)] }, "unbound", "replayable"),
        mutation("flipped-signature-byte", { signatures: [flipped.toString("base64")] }, "invalid", "does not verify"),
        mutation("non-bounceable", { address: contract.address.toString({ bounceable: false, urlSafe: true }) }, "bound", reason),
        mutation("raw-address", { address: contract.address.toRawString() }, "bound", reason),
        mutation("standard-base64", { address: contract.address.toString({ bounceable: true, urlSafe: false }) }, "bound", reason),
        mutation("testnet-address", { address: contract.address.toString({ bounceable: true, urlSafe: true, testOnly: true }) },
                 "invalid", "testnet"),
        mutation("tampered-address", { address: tamper(address, 10, B64URL) }, "invalid", "CRC-16"),
        mutation("masterchain-address", { address: "-1:" + contract.address.hash.toString("hex") }, "unsupported", "workchain -1"),
        mutation("signature-hex", { signatures: [raw.toString("hex")] }, "bound", reason),
        mutation("no-script", { script: null }, "invalid", "proven with its public key"),
        mutation("s-plus-l", { signatures: [hex(sPlusL(raw))] }, "invalid", "not below the group order L"),
        mutation("chain-alias", { chain: "TONCOIN" }, "bound", reason),
        mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
      ];
      if (wallet === "highload-v3") {
        m.push(mutation("highload-parameters-given", { script: `highload-v3/4269/43200:${keys.publicKey.toString("hex")}` }, "bound", reason));
        m.push(mutation("highload-other-timeout", { script: `highload-v3/4269/3600:${keys.publicKey.toString("hex")}` }, "invalid",
                        "is not this address (tried highload-v3 (id 4269, timeout 3600)"));
      }
      if (!named) m.push(mutation("wallet-named", { script: `${wallet}:${keys.publicKey.toString("hex")}` }, "bound", reason));
      v.mutations = m;
      return v;
    };
    out.push(...pair(make));
  }
  return out;
}

// ------------------------------------------------------------------ Sui (@mysten/sui)

const SUI_KEYPAIRS = { ed25519: [Ed25519Keypair, "Ed25519"], secp256k1: [Secp256k1Keypair, "secp256k1"],
                       secp256r1: [Secp256r1Keypair, "secp256r1"] };

async function suiFamily() {
  const out = [];
  for (const [scheme, [Keypair, label]] of Object.entries(SUI_KEYPAIRS)) {
    const name = `sui-${scheme}`;
    const kp = Keypair.fromSecretKey(new Uint8Array(keyBytes(name)));
    const other = Keypair.fromSecretKey(new Uint8Array(keyBytes(`${name} other`)));
    const address = kp.toSuiAddress();
    const sign = async (k, message) => (await k.signPersonalMessage(new TextEncoder().encode(message))).signature;
    const reason = `${label} (Sui personal message)`;
    const pairs = [];
    for (const [message, suffix] of [[CHALLENGE, ""], [SENTENCE, "-sentence"]]) {
      const signature = await sign(kp, message);
      const v = vector({ name: name + suffix, chain: "sui", address, signatures: [signature], message, keys: [keyBytes(name)],
                         signedWith: sdk("@mysten/sui", `${Keypair.name}.fromSecretKey(key).signPersonalMessage(utf8(message)).signature; `
                           + "address toSuiAddress()"),
                         status: suffix ? "unbound" : "bound", reason: suffix ? "replayable" : reason });
      if (suffix) {
        v.mutations = [mutation("message-omitted", { message: null }, "invalid", "does not verify"),
                       mutation("message-is-the-challenge", { message: CHALLENGE }, "invalid", "does not verify")];
        pairs.push(v);
        continue;
      }
      const raw = Buffer.from(signature, "base64");
      const flipped = Buffer.from(raw);
      flipped[10] ^= 0x01;
      const notPersonal = toSerializedSignature({ signature: await kp.sign(new TextEncoder().encode(message)),
                                                  signatureScheme: kp.getKeyScheme(), publicKey: kp.getPublicKey() });
      const multisigFlag = Buffer.from(raw);
      multisigFlag[0] = 0x03;
      const m = [
        mutation("wrong-key", { signatures: [await sign(other, message)] }, "invalid", "does not derive the address"),
        mutation("signature-for-another-address", { address: other.toSuiAddress() }, "invalid", "does not derive the address"),
        mutation("other-period-text", { message: OTHER }, "invalid", "does not verify"),
        mutation("other-period-signed", { message: OTHER, signatures: [await sign(kp, OTHER)] }, "unbound", "replayable"),
        mutation("flipped-signature-byte", { signatures: [flipped.toString("base64")] }, "invalid", "does not verify"),
        mutation("not-a-personal-message", { signatures: [notPersonal] }, "invalid", "does not verify"),
        mutation("tampered-address", { address: tamper(address, 10, "0123456789abcdef") }, "invalid", "does not derive the address"),
        mutation("address-upper-case-hex", { address: "0x" + address.slice(2).toUpperCase() }, "bound", reason),
        mutation("address-65-digits", { address: "0x0" + address.slice(2) }, "invalid", "up to 64 hex digits"),
        mutation("multisig-flag", { signatures: [multisigFlag.toString("base64")] }, "unsupported", "multisig"),
        mutation("script-is-the-key", { script: hex(kp.getPublicKey().toRawBytes()) }, "bound", reason),
        mutation("script-is-another-key", { script: hex(other.getPublicKey().toRawBytes()) }, "invalid", "not the signature's"),
        mutation("chain-upper-case", { chain: "SUI" }, "bound", reason),
        mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
      ];
      if (scheme === "ed25519") {
        m.push(mutation("s-plus-l", { signatures: [Buffer.concat([raw.subarray(0, 1), sPlusL(raw.subarray(1, 65)), raw.subarray(65)])
          .toString("base64")] }, "invalid", "not below the group order L"));
      }
      v.mutations = m;
      pairs.push(v);
    }
    out.push(...pairs);
  }
  // the first key found whose address starts with a zero digit: its short spelling is the same address
  let seedName = null;
  for (let i = 0; seedName === null; i++) {
    if (Ed25519Keypair.fromSecretKey(new Uint8Array(keyBytes(`sui-ed25519-short ${i}`))).toSuiAddress().startsWith("0x0")) {
      seedName = `sui-ed25519-short ${i}`;
    }
  }
  const kp = Ed25519Keypair.fromSecretKey(new Uint8Array(keyBytes(seedName)));
  const signature = (await kp.signPersonalMessage(new TextEncoder().encode(CHALLENGE))).signature;
  out.push(vector({ name: "sui-ed25519-short-address", chain: "sui", address: "0x" + kp.toSuiAddress().slice(2).replace(/^0+/, ""),
                    signatures: [signature], message: CHALLENGE, keys: [keyBytes(seedName)],
                    signedWith: sdk("@mysten/sui", "Ed25519Keypair.fromSecretKey(key).signPersonalMessage(utf8(message)).signature; "
                      + "address toSuiAddress(), leading zeros dropped"), status: "bound", reason: "Ed25519 (Sui personal message)",
                    mutations: [mutation("address-long-form", { address: kp.toSuiAddress() }, "bound", "Ed25519 (Sui personal message)")] }));
  return out;
}

// ------------------------------------------------------------------ Filecoin (iso-filecoin)

function filecoinFamily() {
  const out = [];
  for (const [variant, label, call] of [["lotus", "Lotus WalletSign", "sign"], ["frc102", "FRC-102 personal message", "personalSign"]]) {
    const name = `filecoin-secp256k1-${variant}`;
    const acct = filecoinWallet.accountFromPrivateKey(new Uint8Array(keyBytes(name)), "SECP256K1", "mainnet");
    const other = filecoinWallet.accountFromPrivateKey(new Uint8Array(keyBytes(`${name} other`)), "SECP256K1", "mainnet");
    const address = acct.address.toString();
    const signature = (a, message) => filecoinWallet[call](a.privateKey, "SECP256K1", new TextEncoder().encode(message));
    const sign = (a, message) => signature(a, message).toLotusHex();
    const reason = `secp256k1 (${label})`;
    const make = (message, suffix) => {
      const sig = sign(acct, message);
      const v = vector({ name: name + suffix, chain: "filecoin", address, signatures: [sig], message, keys: [keyBytes(name)],
                         signedWith: sdk("iso-filecoin", `wallet.${call}(key, "SECP256K1", utf8(message)).toLotusHex(); address `
                           + "wallet.accountFromPrivateKey(key, \"SECP256K1\", \"mainnet\").address"),
                         status: "bound", reason });
      v.mutations_when_omitted = "does not give this address";
      if (suffix) return v;
      const bls = filecoinWallet.accountFromPrivateKey(new Uint8Array(keyBytes(`${name} bls`)), "BLS", "mainnet");
      v.mutations = [
        mutation("wrong-key", { signatures: [sign(other, message)] }, "invalid", "does not give this address"),
        mutation("signature-for-another-address", { address: other.address.toString() }, "invalid", "does not give this address"),
        mutation("other-period-text", { message: OTHER }, "invalid", "does not give this address"),
        mutation("other-period-signed", { message: OTHER, signatures: [sign(acct, OTHER)] }, "unbound", "replayable"),
        mutation("flipped-signature-byte", { signatures: [flipHex(sig, 41)] }, "invalid", "does not give this address"),
        mutation("tampered-address", { address: tamper(address, 10, "abcdefghijklmnopqrstuvwxyz234567") }, "invalid", "checksum"),
        mutation("testnet-address", { address: filecoinWallet.accountFromPrivateKey(new Uint8Array(keyBytes(name)), "SECP256K1",
          "testnet").address.toString() }, "invalid", "test network"),
        mutation("address-upper-case", { address: address.toUpperCase() }, "invalid", "not a Filecoin address"),
        mutation("signature-without-type-byte", { signatures: [sig.slice(2)] }, "bound", reason),
        mutation("signature-base64", { signatures: [Buffer.from(signature(acct, message).data).toString("base64")] }, "bound", reason),
        mutation("bls-type-byte", { signatures: ["02" + sig.slice(2)] }, "unsupported", "BLS"),
        mutation("bls-address", { address: bls.address.toString() }, "unsupported", "a BLS (f3) address"),
        mutation("id-address", { address: "f01234" }, "unsupported", "an ID (f0) address"),
        mutation("delegated-address", { address: filecoinAddress.fromEthAddress("0x" + "ab".repeat(20), "mainnet").toString() },
                 "unsupported", "a delegated (f4) address"),
        mutation("chain-alias", { chain: "FIL" }, "bound", reason),
        mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
      ];
      return v;
    };
    out.push(...pair(make));
  }
  return out;
}

// ------------------------------------------------------------------ OKX's framing, on the families that read it

/** The framing a major exchange's published reserve files use on chains without a message convention
 * of their own in its verifier (okx/proof-of-reserves, HashEd25519Msg/HashEcdsaMsg):
 * var_str("OKX Signed Message:\n") ‖ var_str(message), Bitcoin's var_str (a varint length, the bytes). */
function okxFramed(message) {
  const varStr = (bytes) => {
    const n = bytes.length;
    const len = n < 0xfd ? Buffer.from([n]) : n <= 0xffff ? Buffer.from([0xfd, n & 0xff, n >> 8]) : null;
    if (len === null) throw new Error("text too long for this helper");
    return Buffer.concat([len, bytes]);
  };
  return Buffer.concat([varStr(Buffer.from("OKX Signed Message:\n", "utf8")), varStr(Buffer.from(message, "utf8"))]);
}

/** A row signed over OKX's framing by ``sign(key, framedBytes) -> signature text``, and its twin over
 * the fixed sentence; ``why`` holds the reasons of the family's refusals. */
function okxPair({ name, chain, address, script, keys, sign, key, other, otherAddress, signedWith, reason, tampered, why,
                   unframedBound = null }) {
  const make = (message, suffix) => {
    const signature = sign(key, okxFramed(message));
    const v = vector({ name: name + suffix, chain, address, signatures: [signature], message, script, keys,
                       signedWith, status: "bound", reason });
    v.mutations_when_omitted = why.text;
    if (suffix) return v;
    v.mutations = [
      mutation("wrong-key", { signatures: [sign(other, okxFramed(message))] }, "invalid", why.key),
      mutation("signature-for-another-address", { address: otherAddress }, "invalid", why.address),
      mutation("other-period-text", { message: OTHER }, "invalid", why.text),
      mutation("other-period-signed", { message: OTHER, signatures: [sign(key, okxFramed(OTHER))] }, "unbound", "replayable"),
      mutation("flipped-signature-byte", { signatures: [flipHex(signature, 40)] }, "invalid", why.text),
      // over the bare text: the family's own convention where it signs the bare bytes (bound), else refused
      mutation("unframed-signature", { signatures: [sign(key, Buffer.from(message, "utf8"))] }, unframedBound ? "bound" : "invalid",
               unframedBound ?? why.text),
      mutation("tampered-address", { address: tampered }, "invalid", why.tampered),
      mutation("message-omitted", { message: null }, "bound", "over this period's challenge"),
    ];
    return v;
  };
  return pair(make);
}

const okxCall = "over OKX's framing var_str(\"OKX Signed Message:\\n\") ‖ var_str(utf8(message))";

async function okxVectors() {
  const ton = ["v3r2", "highload-v3"].flatMap((wallet) => {
    const name = `ton-${wallet}-okx`;
    const key = keyPairFromSeed(keyBytes(name));
    const other = keyPairFromSeed(keyBytes(`${name} other`));
    const address = TON_WALLETS[wallet](key.publicKey).address.toString({ bounceable: false, urlSafe: true });
    return okxPair({ name, chain: "ton", address, script: key.publicKey.toString("hex"), keys: [keyBytes(name)], key, other,
                     sign: (k, bytes) => "0x" + tonSign(bytes, k.secretKey).toString("hex"),
                     otherAddress: TON_WALLETS[wallet](other.publicKey).address.toString({ bounceable: false, urlSafe: true }),
                     signedWith: sdk("@ton/crypto", `sign(framed, keyPairFromSeed(key).secretKey) ${okxCall}, hex`) + "; address "
                       + (wallet === "highload-v3" ? sdk("@ton/core", TON_CALLS[wallet]) : sdk("@ton/ton", TON_CALLS[wallet])),
                     reason: `Ed25519 over OKX's framing (TON wallet ${wallet})`, tampered: tamper(address, 10, B64URL),
                     why: { key: "does not verify under the public key", address: "the public key's wallet is not this address",
                            text: "does not verify under the public key", tampered: "CRC-16" },
                     unframedBound: `Ed25519 (TON wallet ${wallet})` });
  });
  const suiName = "sui-ed25519-okx";
  const suiKey = Ed25519Keypair.fromSecretKey(new Uint8Array(keyBytes(suiName)));
  const suiOther = Ed25519Keypair.fromSecretKey(new Uint8Array(keyBytes(`${suiName} other`)));
  const suiSignatures = new Map();  // the SDK signs asynchronously: every signature the pair needs, made up front
  for (const k of [suiKey, suiOther]) {
    for (const m of [CHALLENGE, SENTENCE, OTHER]) {
      for (const bytes of [okxFramed(m), Buffer.from(m, "utf8")]) suiSignatures.set(k.toSuiAddress() + hex(bytes), hex(await k.sign(bytes)));
    }
  }
  const sui = okxPair({ name: suiName, chain: "sui", address: suiKey.toSuiAddress(), script: hex(suiKey.getPublicKey().toRawBytes()),
                        keys: [keyBytes(suiName)], key: suiKey, other: suiOther, otherAddress: suiOther.toSuiAddress(),
                        sign: (k, bytes) => "0x" + suiSignatures.get(k.toSuiAddress() + hex(bytes)),
                        signedWith: sdk("@mysten/sui", `Ed25519Keypair.fromSecretKey(key).sign(framed) ${okxCall}, hex`),
                        reason: "Ed25519 over OKX's framing (Sui)", tampered: tamper(suiKey.toSuiAddress(), 10, "0123456789abcdef"),
                        why: { key: "does not verify under the public key", address: "does not derive the address",
                               text: "does not verify under the public key", tampered: "does not derive the address" } });
  const dotName = "polkadot-ed25519-okx";
  const dotKey = polkadotPair("ed25519", dotName, "polkadot");
  const dotOther = polkadotPair("ed25519", `${dotName} other`, "polkadot");
  const dot = okxPair({ name: dotName, chain: "polkadot", address: dotKey.address, script: null, keys: [keyBytes(dotName)],
                        key: dotKey, other: dotOther, otherAddress: dotOther.address, sign: (k, bytes) => u8aToHex(k.sign(bytes)),
                        signedWith: sdk("@polkadot/keyring", `new Keyring({type: "ed25519", ss58Format: 0}).addFromSeed(key).sign(framed) ${okxCall}`),
                        reason: "Ed25519 (OKX's framing)", tampered: tamper(dotKey.address, 12),
                        why: { key: "the Ed25519 signature does not verify", address: "the Ed25519 signature does not verify",
                               text: "the Ed25519 signature does not verify", tampered: "checksum" },
                        unframedBound: "Ed25519 (bare)" });
  const adaName = "cardano-enterprise-address-okx";
  const adaKey = cardanoKey(adaName);
  const adaOther = cardanoKey(`${adaName} other`);
  const adaAddress = CSL.EnterpriseAddress.new(MAINNET_ID(), CSL.Credential.from_keyhash(adaKey.hash)).to_address().to_bech32();
  const ada = okxPair({ name: adaName, chain: "cardano", address: adaAddress, script: adaKey.publicKey.to_hex(), keys: [keyBytes(adaName)],
                        key: adaKey, other: adaOther, sign: (k, bytes) => "0x" + k.privateKey.sign(bytes).to_hex(),
                        otherAddress: CSL.EnterpriseAddress.new(MAINNET_ID(), CSL.Credential.from_keyhash(adaOther.hash)).to_address().to_bech32(),
                        signedWith: sdk("@emurgo/cardano-serialization-lib-nodejs", `PrivateKey.from_normal_bytes(key).sign(framed) ${okxCall}; `
                          + "address EnterpriseAddress.new(mainnet, key hash)"),
                        reason: "Ed25519 over OKX's framing (payment key, enterprise address)", tampered: tamper(adaAddress, 20, BECH32),
                        why: { key: "does not verify under the public key", address: "the key does not give the address",
                               text: "does not verify under the public key", tampered: "checksum" } });
  const filName = "filecoin-secp256k1-okx";
  const filAccount = (n) => filecoinWallet.accountFromPrivateKey(new Uint8Array(keyBytes(n)), "SECP256K1", "mainnet");
  const filKey = new SigningKey("0x" + hex(keyBytes(filName)));
  const filOther = new SigningKey("0x" + hex(keyBytes(`${filName} other`)));
  const filAddress = filAccount(filName).address.toString();
  const fil = okxPair({ name: filName, chain: "filecoin", address: filAddress, script: null, keys: [keyBytes(filName)], key: filKey,
                        other: filOther, otherAddress: filAccount(`${filName} other`).address.toString(),
                        sign: (k, bytes) => k.sign(keccak256(bytes)).serialized,
                        signedWith: sdk("ethers", `new SigningKey(key).sign(keccak256(framed)).serialized ${okxCall}`) + "; address "
                          + sdk("iso-filecoin", "wallet.accountFromPrivateKey(key, \"SECP256K1\", \"mainnet\").address"),
                        reason: "secp256k1 (OKX's framing, keccak-256)", tampered: tamper(filAddress, 10, "abcdefghijklmnopqrstuvwxyz234567"),
                        why: { key: "does not give this address", address: "does not give this address", text: "does not give this address",
                               tampered: "checksum" } });
  return { ton, sui, polkadot: dot, cardano: ada, filecoin: fil };
}

// ------------------------------------------------------------------ output

await cryptoWaitReady();
const OKX = await okxVectors();
const FAMILIES = {
  bitcoin: { chains: "bitcoin, litecoin, dogecoin, dash, bitcoin-cash (legacy and CashAddr)",
             vectors: [...bitcoinFamily(), ...bitcoinCashSingle(), ...bitcoinCashMultisig("p2sh"), ...bitcoinCashMultisig("p2sh32")] },
  evm: { chains: "ethereum, bsc (every EVM chain signs alike)", vectors: evmFamily() },
  tron: { chains: "tron", vectors: [...tronSingle("text"), ...tronSingle("keccak")] },
  solana: { chains: "solana", vectors: await solana() },
  aptos: { chains: "aptos", vectors: aptos() },
  xrpl: { chains: "xrpl", vectors: xrplFamily() },
  cardano: { chains: "cardano", vectors: [...cardanoFamily(), ...OKX.cardano] },
  polkadot: { chains: "polkadot, kusama", vectors: [...polkadotFamily(), ...OKX.polkadot] },
  ton: { chains: "ton", vectors: [...tonFamily(), ...OKX.ton], extra: { wallets: tonWalletTable() } },
  sui: { chains: "sui", vectors: [...await suiFamily(), ...OKX.sui] },
  filecoin: { chains: "filecoin", vectors: [...filecoinFamily(), ...OKX.filecoin] },
};

mkdirSync(outDir, { recursive: true });
const dump = (file, doc) => writeFileSync(join(outDir, file), JSON.stringify(doc, null, 2) + "\n");
dump("texts.json", TEXTS);
for (const [family, { chains, vectors, extra = {} }] of Object.entries(FAMILIES)) {
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
    ...extra,
    vectors,
  });
}
