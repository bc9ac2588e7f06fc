import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        // The seal worker runs put's coding and encryption on the second core (seal-pool.ts);
        // the engine host is the utility process the engine runs in (src/main/engine-process.ts);
        // each SFTP location's connection runs in an SFTP worker (src/core/storage/sftp/worker-node.ts).
        input: {
          index: resolve('src/main/index.ts'),
          'seal-worker': resolve('src/core/vault/seal-worker.ts'),
          'engine-host': resolve('src/host/host-entry.ts'),
          'sftp-worker': resolve('src/core/storage/sftp/worker.ts'),
        },
      },
    },
  },
  preload: {
    // Sandboxed preloads must be CommonJS.
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    build: { outDir: 'out/renderer', rollupOptions: { input: { index: resolve('src/renderer/index.html') } } },
    plugins: [react()],
  },
});
