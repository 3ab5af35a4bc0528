// Reading a new password without it ever reaching the screen, a log or the process list.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CommandError } from './usage.js';

/** All of standard input, minus one trailing line break (`echo pass | registry user add ...`). */
export async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks twice on the terminal without echo; throws when the two answers differ. */
export async function promptNewPassword(): Promise<string> {
  const first = await promptHidden('Password: ');
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new CommandError('the two passwords differ; nothing changed');
  return first;
}

function promptHidden(question: string): Promise<string> {
  process.stderr.write(question);
  // readline echoes what is typed to `output`: give it one that discards everything.
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: discard, terminal: true });
  return new Promise((resolve, reject) => {
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    rl.on('SIGINT', () => {
      rl.close();
      process.stderr.write('\n');
      reject(new CommandError('cancelled; nothing changed'));
    });
  });
}
