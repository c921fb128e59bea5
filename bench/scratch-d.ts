import { triageMemory } from './triage.ts';
console.log('bytes/queued', Math.round(await triageMemory({ queued: Number(process.env.Q ?? 1_000_000), coordinator: false })));
process.exit(0);
