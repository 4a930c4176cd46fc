/** The native sighting pipeline's exports (native/addon/pipeline_napi.c), as TypeScript sees them. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface NativePipelineExports {}
