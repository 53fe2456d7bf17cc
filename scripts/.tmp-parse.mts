import { benchParse } from "./bench-parse.js";
const rows = [0, 1, 2, 3, 4].map(() => benchParse().parseMs);
console.log(rows.map((r) => r.toFixed(0)).join(" "));
