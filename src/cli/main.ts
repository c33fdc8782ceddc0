/**
 * Command-line front end to the same engine the page runs:
 *   generate  complete a prompt          score  per-token NLL of a text
 *   train     LoRA instruction tuning    eval   response-token loss / perplexity,
 *                                               or (--mc) a multiple-choice benchmark
 *   curate    near-duplicates, diversity  shift  what tuning changed, token by token
 * With --json the last stdout line is one JSON object; progress goes to stderr.
 */
import { UsageError } from './args';
import { generateCommand, scoreCommand } from './infer';
import { evalCommand, trainCommand } from './train';
import { MC_EVAL_HELP, mcEvalCommand } from './eval';
import { CURATE_HELP, curateCommand } from './curate';
import { SHIFT_HELP, shiftCommand } from './shift';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<unknown>; help: string }> = {
  generate: {
    run: generateCommand,
    help: 'generate --model PATH [--tokenizer PATH] (--prompt TEXT | --instruction TEXT) [--adapter DIR] [--template T] [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--store-bf16] [--frozen-bits 16|8|4] [--json]',
  },
  score: { run: scoreCommand, help: 'score --model PATH [--tokenizer PATH] --text TEXT [--store-bf16] [--frozen-bits 16|8|4] [--json]' },
  train: {
    run: trainCommand,
    help:
      'train --model PATH --data FILE --out DIR [--format auto|alpaca|...] [--template plain|alpaca|chatml|model] [--epochs E] [--max-steps N] ' +
      '[--batch-size B] [--grad-accum G] [--lr LR] [--schedule constant|linear|cosine] [--warmup N] [--optimizer adamw|sgd] [--weight-decay W] ' +
      '[--max-grad-norm C] [--rank R] [--alpha A] [--dropout P] [--targets q_proj,...] [--rslora] [--max-length L] [--packing] [--gradient-checkpointing] [--memory-budget GiB] [--seed S] ' +
      '[--no-shuffle] [--val-fraction F] [--eval-every N] [--save-every N] [--stop-at-step N] [--init-adapter DIR] [--resume DIR] [--log FILE.jsonl] [--recipe DIR] [--store-bf16] [--frozen-bits 16|8|4] [--json]',
  },
  eval: {
    run: (argv) => (argv.some((a) => a === '--mc' || a.startsWith('--mc=')) ? mcEvalCommand(argv) : evalCommand(argv)),
    help: `eval --model PATH --data FILE [--adapter DIR] [--template T] [--max-length L] [--dump-tokens] [--frozen-bits 16|8|4] [--json]\n  ${MC_EVAL_HELP}`,
  },
  curate: { run: curateCommand, help: CURATE_HELP },
  shift: { run: shiftCommand, help: SHIFT_HELP },
};

function usage(): string {
  return (
    'usage: npm run -s cli -- <command> [flags]\n' +
    Object.values(COMMANDS).map((c) => `  ${c.help}`).join('\n') +
    '\n--store-bf16 keeps an F32 checkpoint as bf16 on the GPU: half the memory, every weight rounded (BF16/F16 checkpoints stay 16-bit without it)' +
    "\n--frozen-bits 16|8|4 holds the frozen matrices as bf16, Q8_0 or Q4_0 blocks (quantized on load; a GGUF's own Q8_0/Q4_0/Q4_1/Q4_K blocks stay as they are at 8 and 4; default: as the file stores them); LoRA, norms and activations stay f32"
  );
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    console.error(`unknown command "${cmd}"\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: npm run -s cli -- ${c.help}`);
    return 0;
  }
  try {
    await c.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${cmd}: ${e.message}\n  ${c.help}`);
      return 2;
    }
    console.error(`${cmd}: ${(e as Error).message}`);
    if (process.env.LIMA_DEBUG) console.error(e);
    return 1;
  }
}

main().then((code) => {
  // Dawn keeps the event loop alive; leave explicitly once output is flushed.
  process.stdout.write('', () => process.exit(code));
});
