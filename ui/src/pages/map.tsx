export function MapPage() {
  return <p>Service map</p>;
}
