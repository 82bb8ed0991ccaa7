// The library: each stage of the experiment, importable on its own.
export {};
