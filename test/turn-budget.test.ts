/** The turn budget shared by actors and batches: what yields resumes next turn, the starved first. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TurnBudget } from '../src/core/turn-budget.ts';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('a turn has time until its budget is spent, and a fresh budget the next turn', async () => {
  const budget = new TurnBudget(2);
  assert.equal(budget.hasTime(), true);
  busy(3);
  assert.equal(budget.hasTime(), false);
  await nextTurn();
  await nextTurn();
  assert.equal(budget.hasTime(), true);
});

test('work deferred in a spent turn resumes at the next: what got no time first, then what yielded, each in order', async () => {
  const budget = new TurnBudget(1);
  const order: string[] = [];
  assert.equal(budget.hasTime(), true);
  busy(2);
  budget.defer(() => order.push('yielded 1'), true);
  budget.defer(() => order.push('starved 1'), false);
  budget.defer(() => order.push('yielded 2'), true);
  budget.defer(() => order.push('starved 2'), false);
  assert.equal(budget.waiting, 4);
  assert.deepEqual(order, [], 'nothing resumes within the spent turn');
  await nextTurn();
  await nextTurn();
  assert.deepEqual(order, ['starved 1', 'starved 2', 'yielded 1', 'yielded 2']);
  assert.equal(budget.waiting, 0);
});

test('a resume that throws does not strand the ones after it', async () => {
  const errors: unknown[] = [];
  const budget = new TurnBudget(1, (error) => errors.push(error));
  const ran: number[] = [];
  budget.hasTime();
  busy(2);
  budget.defer(() => {
    throw new Error('boom');
  }, false);
  budget.defer(() => ran.push(2), false);
  await nextTurn();
  await nextTurn();
  assert.deepEqual(ran, [2]);
  assert.equal((errors[0] as Error | undefined)?.message, 'boom', 'the error is reported');
});

test('an actor with a long backlog does not keep other actors from their turn', async () => {
  const { ActorSystem } = await import('../src/core/actor-system.ts');
  const system = new ActorSystem('budget-test');
  const seen: string[] = [];
  const slow = system.spawn<number, number>('slow', 'test', 0, { receive: (n) => (busy(1), n + 1) });
  const quick = system.spawn<number, string>('quick', 'test', 0, { receive: (n, m) => (seen.push(m), n + 1) });
  for (let i = 0; i < 40; i++) slow.dispatch(i);
  await nextTurn();
  quick.dispatch('hello');
  const before = (system.tree().find((a) => a.path.endsWith('/slow'))?.processed ?? 0);
  for (let i = 0; i < 5 && seen.length === 0; i++) await nextTurn();
  const slowDone = system.tree().find((a) => a.path.endsWith('/slow'))?.processed ?? 0;
  assert.deepEqual(seen, ['hello'], 'the quick actor ran within a few turns');
  assert.ok(slowDone < 40, `the slow actor's 40 ms of messages were spread over turns (${before} → ${slowDone} processed)`);
  await system.whenIdle();
  system.stop();
});

test('work asked for from a caller\'s turn starts at the next turn, before what yielded', async () => {
  const budget = new TurnBudget(1);
  const order: string[] = [];
  budget.startNextTurn(() => order.push('asked outside any engine turn'));
  assert.equal(order.length, 0, 'not run in the caller\'s turn');
  assert.equal(budget.waiting, 1);
  budget.defer(() => order.push('yielded'), true);
  budget.startNextTurn(() => order.push('asked again'));
  await nextTurn();
  await nextTurn();
  assert.deepEqual(order, ['asked outside any engine turn', 'asked again', 'yielded']);
  assert.equal(budget.waiting, 0);
});
