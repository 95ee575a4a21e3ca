/** A page whose GraphQL API has not landed in this server yet. */
export function Unavailable({ title, api }: { title: string; api: string }) {
  return (
    <section className="unavailable" data-testid="unavailable">
      <h1>{title}</h1>
      <p>
        The {api} API is not available in this Skald server yet, so there is nothing to show here. The other
        pages work; this one will appear when its GraphQL API ships.
      </p>
    </section>
  );
}
