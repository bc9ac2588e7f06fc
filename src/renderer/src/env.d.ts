// Stylesheets are bundled by Vite; importing one has no value on the TypeScript side.
declare module '*.css';
