/** The native engine's exports (native/addon/engine_napi.c), as TypeScript sees them. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface NativeEngineExports {}
