/**
 * Reads a Dockerfile into stages of instructions, enough to check what refers to what: line
 * continuations joined, comments and parser directives dropped, `ARG`s before the first `FROM`
 * substituted into `FROM` lines.
 */

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

export interface Stage {
  /** The `AS` name, or the stage's index as a string. */
  readonly name: string;
  /** The base image, with global `ARG` defaults substituted. */
  readonly from: string;
  readonly instructions: Instruction[];
}

export function parseDockerfile(text: string): { stages: Stage[]; args: Record<string, string> } {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    // A comment inside a continued instruction is skipped, as Docker does.
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    lines.push(`${pending}${line}`.trim());
    pending = '';
  }
  if (pending !== '') throw new Error('Dockerfile ends inside a line continuation');

  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const match = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`not an instruction: ${line}`);
    const keyword = match[1]!.toUpperCase();
    const rest = match[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`bad FROM: ${line}`);
      const image = from[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a?: string, b?: string) => args[(a ?? b)!] ?? '');
      stages.push({ name: from[2] ?? String(stages.length), from: image, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (keyword !== 'ARG') throw new Error(`${keyword} before the first FROM`);
      const [name, value = ''] = rest.split('=', 2);
      args[name!] = value;
      continue;
    }
    stage.instructions.push({ keyword, args: rest });
  }
  return { stages, args };
}
