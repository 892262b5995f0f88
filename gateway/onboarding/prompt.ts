/**
 * Questions for a person at a terminal (or a test writing to stdin): one line per answer, defaults in
 * brackets, choices by number or name, secrets without echo. Lines are queued as they arrive, so answers
 * piped in all at once are not lost between questions.
 */
import { createInterface, type Interface } from "node:readline";
import { Writable } from "node:stream";

/** Asks questions and reads answers. */
export interface Prompter {
  /** Free text; an empty answer takes `defaultValue` (`""` makes the answer optional; none makes it required). */
  ask(question: string, defaultValue?: string): Promise<string>;
  /** Like {@link Prompter.ask}, but the answer is not echoed and no default is shown. */
  askSecret(question: string): Promise<string>;
  /** One of `choices` (by number or by value). */
  choose<T extends string>(
    question: string,
    choices: readonly { value: T; label: string }[],
    defaultValue?: T,
  ): Promise<T>;
  /** Yes or no. */
  confirm(question: string, defaultValue: boolean): Promise<boolean>;
  /** Prints a line of explanation. */
  say(line: string): void;
  close(): void;
}

/** Thrown when input ends before a question was answered. */
export class InputEndedError extends Error {
  constructor() {
    super("input ended before every question was answered");
  }
}

/**
 * Creates a prompter over streams.
 *
 * @param input where answers come from (a TTY or any readable stream)
 * @param output where questions go
 */
export function createPrompter(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Prompter {
  let muted = false;
  // readline echoes typed characters through its output on a TTY; this stream drops them while muted.
  const echo = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) output.write(chunk);
      callback();
    },
  });
  const isTty = (input as { isTTY?: boolean }).isTTY === true;
  const rl: Interface = createInterface({ input, output: echo, terminal: isTty });
  const lines: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  let ended = false;
  rl.on("line", (line) => {
    const next = waiting.shift();
    if (next) next.resolve(line);
    else lines.push(line);
  });
  rl.on("close", () => {
    ended = true;
    for (const w of waiting.splice(0)) w.reject(new InputEndedError());
  });

  const nextLine = (): Promise<string> => {
    const line = lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (ended) return Promise.reject(new InputEndedError());
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };

  const ask = async (question: string, defaultValue?: string): Promise<string> => {
    for (;;) {
      output.write(
        defaultValue === undefined || defaultValue === "" ? `${question}: ` : `${question} [${defaultValue}]: `,
      );
      const answer = (await nextLine()).trim();
      if (!isTty) output.write("\n");
      if (answer !== "") return answer;
      if (defaultValue !== undefined) return defaultValue;
      output.write("  an answer is required\n");
    }
  };

  return {
    ask,
    async askSecret(question) {
      for (;;) {
        output.write(`${question} (not shown): `);
        muted = true;
        let answer: string;
        try {
          answer = (await nextLine()).trim();
        } finally {
          muted = false;
        }
        output.write("\n");
        if (answer !== "") return answer;
        output.write("  an answer is required\n");
      }
    },
    async choose(question, choices, defaultValue) {
      choices.forEach((c, i) => {
        output.write(`  ${i + 1}) ${c.label}\n`);
      });
      for (;;) {
        const answer = await ask(question, defaultValue);
        const byNumber = /^\d+$/.test(answer) ? choices[Number(answer) - 1] : undefined;
        const found = byNumber ?? choices.find((c) => c.value.toLowerCase() === answer.toLowerCase());
        if (found) return found.value;
        output.write(`  choose 1-${choices.length} or one of: ${choices.map((c) => c.value).join(", ")}\n`);
      }
    },
    async confirm(question, defaultValue) {
      for (;;) {
        const answer = (await ask(`${question} (y/n)`, defaultValue ? "y" : "n")).toLowerCase();
        if (answer === "y" || answer === "yes") return true;
        if (answer === "n" || answer === "no") return false;
        output.write("  answer y or n\n");
      }
    },
    say(line) {
      output.write(`${line}\n`);
    },
    close() {
      rl.close();
    },
  };
}
