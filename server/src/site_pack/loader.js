// Written by `cohort pack-site` in place of wasm-split's loaders: a route's chunks and its
// own module come in one file, its pack, compressed as one (README, "Front-end weight").
// A pack is: the number of parts (u32, little-endian); for each part its name's length
// (u32), its name and its length (u32); then the parts' bytes, one after the other.
const packs = new Map();
const instances = new Map();
// Memoises a load; a failed one is forgotten, so that the next call tries again.
function memo(map, key, make) {
    let p = map.get(key);
    if (p === undefined) {
        p = make();
        map.set(key, p);
        p.catch(() => { if (map.get(key) === p) map.delete(key); });
    }
    return p;
}
function unpack(buf) {
    const view = new DataView(buf);
    const text = new TextDecoder();
    let at = 0;
    const u32 = () => { const n = view.getUint32(at, true); at += 4; return n; };
    const heads = [];
    for (let i = u32(); i > 0; i--) {
        const len = u32();
        const name = text.decode(new Uint8Array(buf, at, len));
        at += len;
        heads.push([name, u32()]);
    }
    return heads.map(([name, len]) => {
        const bytes = new Uint8Array(buf, at, len);
        at += len;
        return [name, bytes];
    });
}
function fetchPack(name) {
    return memo(packs, name, async () => {
        const res = await fetch(new URL(`./${name}.wasm`, import.meta.url));
        if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
        return unpack(await res.arrayBuffer());
    });
}
// A chunk shared by several routes is instantiated once, whichever pack brought it.
function instantiate([name, bytes]) {
    return memo(instances, name, () => WebAssembly.instantiate(bytes, getSharedImports()));
}
function load(name) {
    let done = name === null;
    return wrapAsyncCb(async () => {
        if (done) return;
        const parts = await fetchPack(name);
        // The route's own module calls into its chunks: they go first.
        await Promise.all(parts.filter(([n]) => !n.startsWith("split_")).map(instantiate));
        await Promise.all(parts.filter(([n]) => n.startsWith("split_")).map(instantiate));
        done = true;
        packs.delete(name);
    });
}
