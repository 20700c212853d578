// JSON.stringify(JSON.parse(text)) as JavaScript computes it, for many texts in one process.
//
// stdin:  one JSON text per line ("\n"-separated; "\r" is left to JSON.parse as whitespace)
// stdout: one line per input line, in order: JSON.stringify(JSON.stringify(JSON.parse(line)))
//         (a JSON string literal, so any output survives the line protocol), or "ERR <message>"
process.stdin.setEncoding("utf8"); // a StringDecoder: multi-byte characters across chunks are safe

let pending = "";

function answer(line) {
  try {
    return JSON.stringify(JSON.stringify(JSON.parse(line)));
  } catch (error) {
    return `ERR ${String(error?.message ?? error).replace(/[\r\n]+/g, " ")}`;
  }
}

process.stdin.on("data", (chunk) => {
  pending += chunk;
  const lines = pending.split("\n");
  pending = lines.pop();
  if (lines.length === 0) return;
  const out = lines.map(answer);
  process.stdout.write(`${out.join("\n")}\n`);
});

process.stdin.on("end", () => {
  if (pending !== "") process.stdout.write(`${answer(pending)}\n`);
});
