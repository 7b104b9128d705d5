export { randomCloud, type RandomCloudOptions } from "./random-cloud";
export { splatHead } from "./splat-head";
