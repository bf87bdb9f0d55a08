/**
 * Chat params that the schema accepts but Chutes would refuse, found before anything is sent:
 * where (a JSON Pointer into the params) and what. The method seam answers it as invalid params, like a
 * schema problem, because it is the host's request that has to change.
 */
export class ChatParamsRefused extends Error {
  override readonly name = 'ChatParamsRefused';

  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(problem);
  }
}
