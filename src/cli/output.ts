import { terminalJson, terminalText } from './terminal.js';

/** What a command reads and writes: the process's streams and environment (tests pass their own). */
export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadStream;
}

/** A command's result: JSON with --json, otherwise the human text; both through the terminal sanitiser. */
export class Output {
  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}
  /** Prints `data` as JSON in --json mode, otherwise the human text; both through the terminal sanitiser. */
  result(data: unknown, human: string): void {
    this.io.stdout.write(this.json ? terminalJson(data, 2) + '\n' : terminalText(human) + '\n');
  }
}
