// The dev server and `vite preview` forward /graphql (HTTP and WebSocket) to the gateway, so the
// page and the API share an origin: no CORS at all. GATEWAY_URL says where the gateway runs.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000';
const proxy = { '/graphql': { target: gateway, ws: true } };

export default defineConfig({
  plugins: [react()],
  server: { proxy },
  preview: { proxy },
});
