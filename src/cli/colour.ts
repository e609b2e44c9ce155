// Colour for diagnostics on a terminal: the severity word and the caret run.
// NO_COLOR (https://no-color.org) turns it off and FORCE_COLOR on, and
// FORCE_COLOR wins where both are set, as in Node's own util.inspect.

const RED = "\u001b[31m";
const YELLOW = "\u001b[33m";
const RESET = "\u001b[0m";

/** Whether to colour: FORCE_COLOR (other than 0 or false) forces it, NO_COLOR forbids it, else only on a terminal. */
export function useColour(env: Readonly<Record<string, string | undefined>>, isTerminal: boolean): boolean {
  const force = env["FORCE_COLOR"];
  if (force !== undefined) return force !== "0" && force !== "false";
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  return isTerminal;
}

/**
 * Colours one formatted diagnostic (formatDiagnostic's head line, excerpt and
 * caret line). The text has already been escaped for the terminal, so the
 * only escape sequences in it are these.
 */
export function colourDiagnostic(text: string): string {
  const head = /^(.*?:\d+:\d+: )(error|warning)( [EW]\d{3}:)/.exec(text);
  if (head === null) return text;
  const [whole, place, severity, code] = head as unknown as [string, string, string, string];
  const colour = severity === "error" ? RED : YELLOW;
  return `${place}${colour}${severity}${RESET}${code}${text.slice(whole.length)}`
    .replace(/(\n {2,}\| [^\n]*?)(\^+)$/, (_, lead: string, carets: string) => `${lead}${colour}${carets}${RESET}`);
}
