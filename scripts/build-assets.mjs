// Builds the web app's CSS from GOV.UK Frontend with Sass, and copies the GOV.UK JavaScript.
// Outputs are build products under src/joinedup/web/static (git-ignored), never committed.
import { compile } from "sass";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const web = join(root, "src", "joinedup", "web");
const govuk = join(root, "node_modules", "govuk-frontend", "dist", "govuk");
const build = join(web, "static", "build");
const govukOut = join(web, "static", "govuk");

mkdirSync(build, { recursive: true });
mkdirSync(govukOut, { recursive: true });

for (const name of ["app", "print"]) {
  const result = compile(join(web, "assets", `${name}.scss`), {
    loadPaths: [join(root, "node_modules")],
    style: "compressed",
    quietDeps: true,
    silenceDeprecations: ["import"],
  });
  writeFileSync(join(build, `${name}.css`), result.css);
}

// The JavaScript only; no GOV.UK fonts or crown images: joinedup is not a GOV.UK service.
copyFileSync(join(govuk, "govuk-frontend.min.js"), join(govukOut, "govuk-frontend.min.js"));
console.log("built", join(build, "app.css"));
