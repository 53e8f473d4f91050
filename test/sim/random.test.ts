/** SIM-001: seeded random streams. */
import { describe, expect, it } from 'vitest'
import { createRandom } from '../../src/sim/random.ts'

const draw = (seed: number) => {
  const random = createRandom(seed)
  return [
    random.uniform(),
    random.normal(),
    random.integer(1, 6),
    random.poisson(3),
    random.split('child').uniform(),
  ]
}

describe('SIM-001 random streams', () => {
  it('repeat exactly for a seed and differ across seeds', () => {
    expect(draw(2024)).toEqual(draw(2024))
    expect(draw(2024)).not.toEqual(draw(2025))
  })

  it('refuse seeds outside 0..2^32 − 1', () => {
    expect(() => createRandom(-1)).toThrow(/seed/)
    expect(() => createRandom(1.5)).toThrow(/seed/)
    expect(() => createRandom(2 ** 32)).toThrow(/seed/)
    expect(() => createRandom(2 ** 32 - 1)).not.toThrow()
  })

  it('draw integers within bounds and normals with mean ≈ 0, variance ≈ 1', () => {
    const random = createRandom(5)
    const normals = Array.from({ length: 20_000 }, () => random.normal())
    const mean = normals.reduce((sum, value) => sum + value, 0) / normals.length
    const variance = normals.reduce((sum, value) => sum + (value - mean) ** 2, 0) / normals.length
    expect(Math.abs(mean)).toBeLessThan(0.03)
    expect(Math.abs(variance - 1)).toBeLessThan(0.04)
    for (let index = 0; index < 1000; index += 1) {
      const value = random.integer(1, 6)
      expect(value >= 1 && value <= 6 && Number.isInteger(value)).toBe(true)
    }
  })
})
