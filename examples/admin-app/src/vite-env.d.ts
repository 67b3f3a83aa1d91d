/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The gateway's base URL when the page is served from another origin (CORS), e.g.
   * http://127.0.0.1:4000. Unset: the page's own origin, through the dev/preview proxy. */
  readonly VITE_GATEWAY_URL?: string;
  /** Graph mode in local development only: a Microsoft Graph token sent with every request.
   * A real app gets the signed-in user's token from MSAL instead. */
  readonly VITE_GATEWAY_TOKEN?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
