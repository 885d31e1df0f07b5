// kafkajs-snappy ships no types: it exports a factory of a kafkajs compression codec ({ compress, decompress }).
declare module 'kafkajs-snappy' {
  const createSnappyCodec: () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> };
  export default createSnappyCodec;
}
