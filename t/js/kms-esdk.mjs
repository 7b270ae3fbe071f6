// The AWS Encryption SDK for JavaScript with a KMS keyring whose KMS client
// points at our endpoint: encrypts a message of the given size (MiB) under
// the key ARN given, decrypts it, and prints what it observed as JSON.
//
//   node kms-esdk.mjs ENDPOINT KEY_ARN OTHER_KEY_ARN MIB

import {
  KmsKeyringNode, buildClient, CommitmentPolicy,
} from '@aws-crypto/client-node';
import { KMS } from '@aws-sdk/client-kms';
import { createHash, randomBytes } from 'node:crypto';

const [endpoint, keyArn, otherArn, mib] = process.argv.slice(2);
const credentials = {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID,
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
};
const { encrypt, decrypt } = buildClient(
  CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

// every KMS client the keyring asks for talks to our endpoint (KMS: the
// KMSClient with a method per operation, as the keyring calls them)
const clientProvider = (region) =>
  new KMS({ endpoint, region, credentials });

const keyring = new KmsKeyringNode({ generatorKeyId: keyArn,
                                     clientProvider });
const sha = (b) => createHash('sha256').update(b).digest('hex');
const out = {};

const plaintext = randomBytes(Number(mib) * 1024 * 1024);
const context = { purpose: 'esdk-test', size: String(plaintext.length) };

const { result } = await encrypt(keyring, plaintext,
                                 { encryptionContext: context });
out.plaintext_len = plaintext.length;
out.plaintext_sha = sha(plaintext);
out.ciphertext_len = result.length;
out.ciphertext_has_plaintext =
  result.indexOf(plaintext.subarray(0, 64)) >= 0;

const { plaintext: back, messageHeader } = await decrypt(keyring, result);
out.decrypted_len = back.length;
out.decrypted_sha = sha(back);
out.provider_info = messageHeader.encryptedDataKeys.map((k) => k.providerInfo);
out.context = messageHeader.encryptionContext;

// another key's keyring cannot open it
try {
  await decrypt(new KmsKeyringNode({ generatorKeyId: otherArn,
                                     clientProvider }), result);
  out.other_key = 'decrypted';
} catch (e) {
  out.other_key = 'refused';
}

// nor can anyone open a damaged message
const damaged = Buffer.from(result);
damaged[damaged.length - 100] ^= 1;
try {
  await decrypt(keyring, damaged);
  out.damaged = 'decrypted';
} catch (e) {
  out.damaged = 'refused';
}

console.log(JSON.stringify(out));
