/** Response JSON as `any`: tests assert on its shape explicitly. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function bodyOf(res: Response): Promise<any> {
  return res.json();
}
