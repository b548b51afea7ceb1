import { Keypair } from '@stellar/stellar-sdk';

/** A fresh wallet that counts every signature it makes: a refused payment must make none. */
export function countingKeypair(): { keypair: Keypair; signatures: () => number } {
  const keypair = Keypair.random();
  let count = 0;
  const sign = keypair.sign.bind(keypair);
  keypair.sign = (data: Buffer) => {
    count++;
    return sign(data);
  };
  return { keypair, signatures: () => count };
}
