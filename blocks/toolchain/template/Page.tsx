// Renders one page: its layout template's zones, each zone's blocks in block_order, each block's
// props passed as data. A block that throws shows its error instead of taking the page down.
import { Component, useEffect, type ComponentType, type ReactNode } from 'react';

export interface PageData {
  key: string;
  title: string;
  description: string | null;
  layout: string;
  zones: Record<string, { component: string; order: number; props: Record<string, unknown> }[]>;
}

class BlockBoundary extends Component<{ name: string; children: ReactNode }, { error?: Error }> {
  override state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override render() {
    if (this.state.error) {
      return (
        <div className="rb-card rb-error" role="alert">
          {this.props.name} failed: {this.state.error.message}
        </div>
      );
    }
    return this.props.children;
  }
}

const ZONES = ['header', 'sidebar', 'main', 'footer', 'overlay'] as const;

export function Page({ data, components }: { data: PageData; components: Record<string, ComponentType<any>> }) {
  useEffect(() => {
    document.title = data.title;
    let meta = document.querySelector('meta[name="description"]');
    if (!meta) {
      meta = document.createElement('meta');
      meta.setAttribute('name', 'description');
      document.head.appendChild(meta);
    }
    meta.setAttribute('content', data.description ?? '');
  }, [data.title, data.description]);
  return (
    <div className={`rb-layout rb-layout--${data.layout}`} data-page={data.key}>
      {ZONES.map((zone) => {
        const blocks = data.zones[zone] ?? [];
        if (!blocks.length) return null;
        return (
          <div key={zone} className={`rb-zone rb-zone--${zone}`} data-zone={zone}>
            {blocks.map((b) => {
              const C = components[b.component]!;
              return (
                <BlockBoundary key={b.order} name={b.component}>
                  <C {...b.props} />
                </BlockBoundary>
              );
            })}
          </div>
        );
      })}
    </div>
  );
}
