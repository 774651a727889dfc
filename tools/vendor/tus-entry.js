// What the pages use of tus-js-client: its Upload class and the support check.
export { Upload, isSupported } from 'tus-js-client';
