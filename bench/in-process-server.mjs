/**
 * One build's server inside this process, for benches that measure command
 * CPU without the network (scripting-micro, scripting-replay): run(args)
 * calls a command as the dispatcher does, replies collect in `r`.
 * `dir` is a build's dist folder, so two builds can be compared in one process.
 */
import path from 'node:path';

export async function inProcessServer(dir, { proto = 2 } = {}) {
  const imp = (p) => import(path.join(path.resolve(dir), p));
  await imp('config/server-params.js');
  await imp('commands/index.js');
  const { Server } = await imp('server/server.js');
  const { Client } = await imp('server/client.js');
  const { Reply } = await imp('protocol/reply.js');
  const { call } = await imp('server/dispatch.js');
  const { lookup, lookupSub } = await imp('commands/registry.js');
  const { LuaVm } = await imp('scripting/vm/lua-vm.js');
  const { configureLog } = await imp('log.js');
  configureLog(false, 'warning', 'json');
  await LuaVm.init();
  const server = new Server(16);
  const ctx = server.ctx;
  const client = new Client(1, { remoteAddress: 'bench', remotePort: 1 }, server.ks.dbs[0], false);
  client.proto = proto;
  const r = new Reply();
  r.proto = proto;
  const run = (args) => {
    let spec = lookup(args[0]);
    if (spec.subcommands) spec = lookupSub(spec, args[1]);
    ctx.client = client;
    ctx.db = client.db;
    ctx.r = r;
    call(ctx, spec, args);
  };
  return { run, r };
}
