// The CLI is an entry point, not a library: its public surface is the `medledger` command.
export { runFoundationDemo } from './demo.ts';
