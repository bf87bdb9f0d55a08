import { schemaCatalog } from '../generated/catalog';
import { authComplete, authLogin, authLogout, authStatus } from './auth';
import { chatComplete, chatStream } from './chat';
import { configValidate } from './config';
import { initialize, shutdown } from './lifecycle';
import type { MethodSpec } from './method';
import { modelsDiscover } from './models';

/** Every method the server answers. A test checks this list against schemas/openrpc.json. */
export const allMethods: MethodSpec[] = [initialize, shutdown, configValidate, modelsDiscover, authLogin, authComplete, authStatus, authLogout, chatStream, chatComplete];

export const clientNotifications: readonly string[] = schemaCatalog.clientNotifications;
export const serverNotifications: readonly string[] = schemaCatalog.serverNotifications;
