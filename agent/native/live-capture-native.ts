/** Live capture's exports (native/addon/live_capture_napi.c), as TypeScript sees them. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface NativeLiveCaptureExports {}
