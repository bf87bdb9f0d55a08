/** Whether a chat call is end-to-end encrypted: never, when the model can be (else plaintext, said in the result), or always. */
export type E2eeMode = 'off' | 'prefer' | 'require';

export const E2EE_MODES: readonly E2eeMode[] = ['off', 'prefer', 'require'];
