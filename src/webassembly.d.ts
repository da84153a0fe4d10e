// The part of the WebAssembly JavaScript API that sluice uses (wasi.ts). Node provides all of it, but TypeScript
// declares it only in its DOM library, which this package does not load.
declare namespace WebAssembly {
  interface Module {
    readonly __brand?: 'WebAssembly.Module';
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
  }
  const Memory: { prototype: Memory; new (descriptor: { initial: number; maximum?: number }): Memory };
  interface Instance {
    readonly exports: Record<string, unknown>;
  }
  type Imports = Record<string, Record<string, unknown>>;
  function compile(bytes: Uint8Array): Promise<Module>;
  function instantiate(module: Module, imports?: Imports): Promise<Instance>;
}
