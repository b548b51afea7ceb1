/** Typed context variables that middleware publishes for handlers. */
export interface AppEnv {
  Variables: {
    requestId: string;
  };
}
